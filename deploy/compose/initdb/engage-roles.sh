#!/bin/bash
# Runs once, when the Postgres volume is first initialised (the official image runs
# /docker-entrypoint-initdb.d, and so does the development image): the six services' roles and
# schemas (deploy/postgres/provision.sh), all with ENGAGE_DB_PASSWORD. To change a password later, run
# provision.sh again with the superuser's URL.
set -euo pipefail
: "${ENGAGE_DB_PASSWORD:?set ENGAGE_DB_PASSWORD}"
for schema in PROFILES SUBSCRIPTIONS AUDIENCES JOURNEYS MESSAGING_SEND EVENTS_SOURCE; do
  export "ENGAGE_DB_PASSWORD_$schema=$ENGAGE_DB_PASSWORD"
done
# During initialisation the server listens on its socket only.
ENGAGE_DATABASE_ADMIN_URL="postgresql:///engage?host=/var/run/postgresql&user=${POSTGRES_USER:-postgres}" \
  bash /engage-postgres/provision.sh
