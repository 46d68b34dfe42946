-- One service's Postgres role and schema, with nothing more than it needs: the role owns its
-- schema (its migrations create the tables there) and has no rights in any other schema, so
-- "each service owns its own schema" is enforced by Postgres, not by convention.
--
-- Run by a superuser (or a role with CREATEROLE and CREATE on the database), with psql 15 or later;
-- the password comes from the environment, never from the command line:
--   ENGAGE_DB_ROLE_PASSWORD=... psql "$ADMIN_URL" -v role=engage_profiles -v schema=profiles -f provision.sql
-- Idempotent: run it again to change the password. A schema created earlier by another role (a
-- deployment that ran every service as the superuser) is handed over with its tables.
\set ON_ERROR_STOP on
\getenv password ENGAGE_DB_ROLE_PASSWORD
\if :{?password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'set ENGAGE_DB_ROLE_PASSWORD to the role''s password'; END $$;
\endif
-- Keep the password out of the server log, even if a statement below fails (superusers only may).
SELECT set_config('log_statement', 'none', false), set_config('log_min_error_statement', 'panic', false)
FROM pg_roles WHERE rolname = current_user AND rolsuper \gset ignored_

SELECT format('CREATE ROLE %I', :'role')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'password';

-- Connecting is all a service may do to the database itself: no new schemas, no temporary tables.
SELECT format('REVOKE CREATE, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()) \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'role') \gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

CREATE SCHEMA IF NOT EXISTS :"schema" AUTHORIZATION :"role";
ALTER SCHEMA :"schema" OWNER TO :"role";
SELECT format('ALTER TABLE %I.%I OWNER TO %I', schemaname, tablename, :'role')
FROM pg_tables WHERE schemaname = :'schema' AND tableowner <> :'role' \gexec
SELECT format('ALTER SEQUENCE %I.%I OWNER TO %I', schemaname, sequencename, :'role')
FROM pg_sequences WHERE schemaname = :'schema' AND sequenceowner <> :'role' \gexec
