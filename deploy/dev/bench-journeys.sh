#!/usr/bin/env bash
# Journeys benchmark (issue: a broadcast to a 100,000-profile audience produces all its message
# requests within 30 s; 100,000 timers due at once complete with p99 lateness under 1 s): a private
# Postgres and broker, release builds of profiles (spaces and tokens) and journeys, and
# Tests/Benchmarks/journeys_bench.py. Arguments go to the script (e.g. --timers 20000 --phase timers).
# Stops everything it started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ENGAGE_ROOT"

BIN=$(build_release profiles journeys)

PROFILES_PORT=$(free_port)
JOURNEYS_PORT=$(free_port)
cleanup() {
  curl -fsS "http://127.0.0.1:$JOURNEYS_PORT/metrics" 2>/dev/null \
    | grep -E '^engage_(journey_timer_lateness_seconds_(sum|count)|journey_paths_claimed_ahead_total|outbox_batch_seconds_(sum|count)|outbox_publish_lag_seconds_(sum|count))' >&2 || true
  postgres_activity >&2 || true
  stop_pid "$WORK/journeys.pid"
  stop_pid "$WORK/profiles.pid"
  stop_private_infra
}
trap cleanup EXIT
start_private_infra engage-bench-journeys

start_bench_service profiles "$PROFILES_PORT"
start_bench_service journeys "$JOURNEYS_PORT" env ${JOURNEYS_BENCH_ENV:-}

log "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; Tests/Benchmarks/journeys_bench.py $*"
python3 Tests/Benchmarks/journeys_bench.py --profiles "http://127.0.0.1:$PROFILES_PORT" --journeys "http://127.0.0.1:$JOURNEYS_PORT" \
  --brokers "127.0.0.1:$KAFKA_PORT" --database "postgres://postgres@127.0.0.1:$PG_PORT/engage" --admin-token bench "$@"
log "journeys peak RSS: $(awk '/VmHWM/ {print $2 / 1024 " MB"}' "/proc/$(cat "$WORK/journeys.pid")/status" 2>/dev/null || echo unknown)"
