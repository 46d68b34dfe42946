#!/usr/bin/env bash
# Creates (or updates) the six services' Postgres roles and schemas with provision.sql. Run once per
# database by an administrator, or by the Kubernetes Job in deploy/k8s, before the services start.
#
#   ENGAGE_DATABASE_ADMIN_URL  a superuser's URL, e.g. postgres://postgres@db:5432/engage?sslmode=verify-full
#                               (its password in PGPASSWORD rather than in the URL, which psql's command
#                               line would show to other processes)
#   ENGAGE_DB_PASSWORD_<SCHEMA> each service's password (PROFILES, SUBSCRIPTIONS, AUDIENCES, JOURNEYS,
#                               MESSAGING_SEND, EVENTS_SOURCE), or ENGAGE_DB_PASSWORD_<SCHEMA>_FILE
#
# Each service then connects as engage_<schema>, e.g.
#   ENGAGE_DATABASE_URL=postgres://engage_profiles:<password>@db:5432/engage
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${ENGAGE_DATABASE_ADMIN_URL:?set ENGAGE_DATABASE_ADMIN_URL to a superuser URL of the engage database}"

for schema in profiles subscriptions audiences journeys messaging_send events_source; do
  variable="ENGAGE_DB_PASSWORD_${schema^^}"
  file_variable="${variable}_FILE"
  if [ -n "${!variable:-}" ]; then
    password=${!variable}
  elif [ -n "${!file_variable:-}" ]; then
    password=$(tr -d '\r\n' < "${!file_variable}")
  else
    echo "provision: $variable (or $file_variable) is required" >&2
    exit 78
  fi
  ENGAGE_DB_ROLE_PASSWORD=$password psql "$ENGAGE_DATABASE_ADMIN_URL" -q -X -v role="engage_$schema" -v schema="$schema" \
    -f "$here/provision.sql" >/dev/null
  echo "provision: role engage_$schema owns schema $schema"
done
