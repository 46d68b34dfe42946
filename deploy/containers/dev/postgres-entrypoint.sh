#!/bin/sh
# Initialises the data directory once (superuser password from POSTGRES_PASSWORD, database engage, then
# the scripts in /docker-entrypoint-initdb.d), then runs Postgres in the foreground. Passwords are checked (scram) for every network client.
set -eu
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
port=${PGPORT:-5432}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb -D "$PGDATA" -U postgres --pwfile="$pwfile" --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --no-locale >/dev/null
  rm -f "$pwfile"
  printf "listen_addresses = '*'\nport = %s\nunix_socket_directories = '/run/postgresql'\nmax_connections = 200\n" "$port" >> "$PGDATA/postgresql.conf"
  printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  psql -qX -U postgres -c 'CREATE DATABASE engage' >/dev/null
  # As the official image does: scripts mounted here run once, against the new database.
  for script in /docker-entrypoint-initdb.d/*.sh; do
    [ -f "$script" ] && bash "$script"
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec postgres -D "$PGDATA"
