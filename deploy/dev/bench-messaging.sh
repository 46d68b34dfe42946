#!/usr/bin/env bash
# Messaging benchmark (issue: >= 2,000 messages/s sustained, p99 request-to-provider < 250 ms,
# messaging-send RSS < 200 MB): a private Postgres and broker, the local SendGrid/Twilio fakes,
# release builds of profiles, subscriptions and messaging-send, and Tests/Benchmarks/messaging_bench.py
# producing message requests and timing them to the fake provider. Arguments go to the script
# (e.g. --rate 3000 --seconds 30 --burst 0). Stops everything it started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ENGAGE_ROOT"

BIN=$(build_release profiles subscriptions messaging-send)

PROFILES_PORT=$(free_port)
SUBSCRIPTIONS_PORT=$(free_port)
MESSAGING_PORT=$(free_port)
cleanup() {
  curl -fsS "http://127.0.0.1:$MESSAGING_PORT/metrics" 2>/dev/null \
    | python3 Tests/Benchmarks/histogram_quantiles.py engage_provider_call_seconds \
      engage_message_request_to_provider_seconds engage_consumer_record_wait_seconds engage_consumer_batch_seconds \
      engage_outbox_publish_lag_seconds >&2 || true
  postgres_activity >&2 || true
  stop_pid "$WORK/messaging-send.pid"
  stop_pid "$WORK/subscriptions.pid"
  stop_pid "$WORK/profiles.pid"
  stop_pid "$WORK/fakes.pid"
  stop_private_infra
}
trap cleanup EXIT
start_private_infra engage-bench-messaging

python3 Tests/Fakes/provider_fakes.py --port-file "$WORK/fakes.port" >"$WORK/fakes.log" 2>&1 &
echo $! > "$WORK/fakes.pid"
wait_until 30 "provider fakes" test -s "$WORK/fakes.port"
FAKES_URL="http://127.0.0.1:$(cat "$WORK/fakes.port")"

DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/engage"
ENGAGE_SECRETS_KEY="$(head -c 32 /dev/urandom | base64)"
export ENGAGE_SECRETS_KEY
start_bench_service profiles "$PROFILES_PORT"
start_bench_service subscriptions "$SUBSCRIPTIONS_PORT"
# The provider fake listens on 127.0.0.1: allowed explicitly (ENGAGE_MESSAGING_PROVIDER_HOSTS).
start_bench_service messaging-send "$MESSAGING_PORT" env ENGAGE_MESSAGING_PROVIDER_HOSTS=127.0.0.1

log "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; Tests/Benchmarks/messaging_bench.py $*"
python3 Tests/Benchmarks/messaging_bench.py --profiles "http://127.0.0.1:$PROFILES_PORT" \
  --messaging "http://127.0.0.1:$MESSAGING_PORT" --fakes "$FAKES_URL" --brokers "127.0.0.1:$KAFKA_PORT" \
  --database-url "$DATABASE_URL" --admin-token bench --messaging-pid "$(cat "$WORK/messaging-send.pid")" "$@"
