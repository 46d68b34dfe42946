#!/usr/bin/env bash
# CSV import benchmark (issue: 1,000,000 rows end to end, >= 20,000 rows/s, each service < 200 MB
# peak RSS): a private Postgres and broker, release builds of profiles and subscriptions, and
# Tests/Benchmarks/csv_import_bench.py generating the file, uploading it and timing until the
# upload is completed (rows in profiles, states in subscriptions). Arguments go to the script
# (e.g. --rows 200000). Stops everything it started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ENGAGE_ROOT"

BIN=$(build_release profiles subscriptions)

PROFILES_PORT=$(free_port)
SUBSCRIPTIONS_PORT=$(free_port)
cleanup() {
  postgres_activity >&2 || true
  stop_pid "$WORK/profiles.pid"
  stop_pid "$WORK/subscriptions.pid"
  stop_private_infra
}
trap cleanup EXIT
start_private_infra engage-bench-csv

# ENGAGE_BENCH_WRAPPER (e.g. "heaptrack -o /tmp/profiles") runs the profiles service under a tool.
# shellcheck disable=SC2086
start_bench_service profiles "$PROFILES_PORT" ${ENGAGE_BENCH_WRAPPER:-}
start_bench_service subscriptions "$SUBSCRIPTIONS_PORT"

log "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; Tests/Benchmarks/csv_import_bench.py $*"
python3 Tests/Benchmarks/csv_import_bench.py --profiles "http://127.0.0.1:$PROFILES_PORT" \
  --subscriptions "http://127.0.0.1:$SUBSCRIPTIONS_PORT" --admin-token bench \
  --brokers "127.0.0.1:$KAFKA_PORT" --database "postgres://postgres@127.0.0.1:$PG_PORT/engage" \
  --pids "profiles=$(cat "$WORK/profiles.pid"),subscriptions=$(cat "$WORK/subscriptions.pid")" \
  --postgres-pid "$(head -n 1 "$WORK/pg/postmaster.pid")" --broker-pid "$(cat "$WORK/broker.pid")" \
  --work "$WORK" "$@"
