#!/usr/bin/env bash
# Events-source benchmark (issue: at least 5,000 events/s from message events to source events on
# the topic, and 1,000 webhook deliveries/s to a local receiver): a private Postgres and broker,
# release builds of profiles (spaces and tokens) and events-source, and
# Tests/Benchmarks/events_source_bench.py. Arguments go to the script (e.g. --events 50000
# --webhook-events 10000). Stops everything it started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ENGAGE_ROOT"

BIN=$(build_release profiles events-source)

PROFILES_PORT=$(free_port)
EVENTS_PORT=$(free_port)
cleanup() {
  curl -fsS "http://127.0.0.1:$EVENTS_PORT/metrics" 2>/dev/null \
    | grep -E '^engage_(consumer_batch_seconds|outbox_batch_seconds)_(sum|count)|^engage_events_source_webhook_call_seconds_(sum|count)' >&2 || true
  postgres_activity >&2 || true
  stop_pid "$WORK/events-source.pid"
  stop_pid "$WORK/profiles.pid"
  stop_private_infra
}
trap cleanup EXIT
start_private_infra engage-bench-events-source

# The benchmark's webhook receiver listens on 127.0.0.1: allowed explicitly (ENGAGE_WEBHOOK_ALLOWED_HOSTS).
start_bench_service profiles "$PROFILES_PORT"
start_bench_service events-source "$EVENTS_PORT" env ENGAGE_WEBHOOK_ALLOWED_HOSTS=127.0.0.1 \
  ENGAGE_SECRETS_KEY="$(head -c 32 /dev/urandom | base64)"

log "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; Tests/Benchmarks/events_source_bench.py $*"
python3 Tests/Benchmarks/events_source_bench.py --profiles "http://127.0.0.1:$PROFILES_PORT" \
  --events-source "http://127.0.0.1:$EVENTS_PORT" --brokers "127.0.0.1:$KAFKA_PORT" \
  --database "postgres://postgres@127.0.0.1:$PG_PORT/engage" --admin-token bench "$@"
log "events-source peak RSS: $(awk '/VmHWM/ {print $2 / 1024 " MB"}' "/proc/$(cat "$WORK/events-source.pid")/status" 2>/dev/null || echo unknown)"
