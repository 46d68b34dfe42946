#!/usr/bin/env bash
# Ingestion benchmark: a private Postgres and broker on free ports, a release build of the profiles
# service, and Tests/Benchmarks/ingest_bench.py as the separate load process. Extra arguments go to
# the load process (e.g. --events 200000 --concurrency 8). Stops everything it started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ENGAGE_ROOT"

BIN=$(build_release profiles)

HTTP_PORT=$(free_port)
cleanup() {
  # Where the time went, from the service's own histograms: the wait in front of the intake, its
  # batches, and the outbox relay's lag and batches; and what Postgres did meanwhile.
  curl -fsS "http://127.0.0.1:$HTTP_PORT/metrics" 2>/dev/null \
    | python3 Tests/Benchmarks/histogram_quantiles.py engage_consumer_record_wait_seconds \
      engage_consumer_batch_seconds engage_outbox_batch_seconds engage_outbox_publish_lag_seconds >&2 || true
  postgres_activity >&2 || true
  stop_pid "$WORK/profiles.pid"
  stop_private_infra
}
trap cleanup EXIT
start_private_infra engage-bench

start_bench_service profiles "$HTTP_PORT"

admin=(-fsS -H "Authorization: Bearer bench" -H 'Content-Type: application/json')
space_id=$(curl "${admin[@]}" -d '{"name":"bench"}' "http://127.0.0.1:$HTTP_PORT/admin/spaces" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
write_key=$(curl "${admin[@]}" -d '{"name":"bench"}' "http://127.0.0.1:$HTTP_PORT/admin/spaces/$space_id/sources" | python3 -c 'import json,sys; print(json.load(sys.stdin)["writeKey"])')

log "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; load process: Tests/Benchmarks/ingest_bench.py $*"
python3 Tests/Benchmarks/ingest_bench.py --url "http://127.0.0.1:$HTTP_PORT" --write-key "$write_key" \
  --brokers "127.0.0.1:$KAFKA_PORT" --database "postgres://postgres@127.0.0.1:$PG_PORT/engage" "$@"
