#!/usr/bin/env bash
# Stops what deploy/dev/up.sh started (by PID), services first, then the broker and Postgres.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
STATE="$ENGAGE_ROOT/.dev"
stop_pid "$STATE/run/console.pid"
for entry in $ENGAGE_SERVICES; do stop_pid "$STATE/run/${entry%%:*}.pid"; done
stop_pid "$STATE/run/provider-fakes.pid"
stop_pid "$STATE/run/broker.pid"
stop_postgres "$STATE/pg"
# The broker keeps topics in memory only, so the ids created for the default space stay valid
# (they live in Postgres) but nothing published before the stop is kept on the topics.
log "stopped"
