#!/usr/bin/env bash
# Audiences benchmark (issue: 100,000 profiles, 20 live audiences; p99 tracking call -> Audience
# Entered at 1,000 and 5,000 events/s, target < 250 ms at 1,000/s; backfill over 1,000,000 stored
# events, target < 60 s): a private Postgres and broker, release builds of profiles and audiences,
# and Tests/Benchmarks/audiences_bench.py. Arguments go to the script (e.g. --people 20000
# --rates 1000 --seconds 20 --backfill-events 0). Stops everything it started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ENGAGE_ROOT"

BIN=$(build_release profiles audiences)

PROFILES_PORT=$(free_port)
AUDIENCES_PORT=$(free_port)
cleanup() {
  curl -fsS "http://127.0.0.1:$AUDIENCES_PORT/metrics" 2>/dev/null \
    | grep -E '^engage_(audiences_event_to_membership_seconds|consumer_batch_seconds)_(sum|count)' >&2 || true
  postgres_activity >&2 || true
  stop_pid "$WORK/audiences.pid"
  stop_pid "$WORK/profiles.pid"
  stop_private_infra
}
trap cleanup EXIT
start_private_infra engage-bench-audiences

start_bench_service profiles "$PROFILES_PORT"
start_bench_service audiences "$AUDIENCES_PORT"

log "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; Tests/Benchmarks/audiences_bench.py $*"
python3 Tests/Benchmarks/audiences_bench.py --profiles "http://127.0.0.1:$PROFILES_PORT" \
  --audiences "http://127.0.0.1:$AUDIENCES_PORT" --brokers "127.0.0.1:$KAFKA_PORT" \
  --database-url "postgres://postgres@127.0.0.1:$PG_PORT/engage" --admin-token bench \
  --audiences-pid "$(cat "$WORK/audiences.pid")" "$@"
