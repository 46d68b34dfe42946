#!/usr/bin/env bash
# Runs every test: Swift unit and integration tests, then the end-to-end tests that drive the real
# executables. Starts its own Postgres and Kafka-protocol broker on free ports, and stops them
# (and anything else it started) when it ends, whatever the outcome.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ENGAGE_ROOT"

bash deploy/dev/install-deps.sh

log "building"
swift build --build-tests

WORK=$(mktemp -d /tmp/engage-test.XXXXXX)
chmod 755 "$WORK"
PG_PORT=$(free_port)
KAFKA_PORT=$(free_port)
cleanup() {
  stop_pid "$WORK/broker.pid"
  stop_postgres "$WORK/pg"
  rm -rf "$WORK"
}
trap cleanup EXIT

start_postgres "$WORK/pg" "$PG_PORT"
start_tansu "$KAFKA_PORT" "$WORK/broker.pid" "$WORK/broker.log"
log "postgres on $PG_PORT, broker on $KAFKA_PORT"

export ENGAGE_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/engage"
export ENGAGE_TEST_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
export ENGAGE_BIN_PATH="$(swift build --show-bin-path)"

status=0
swift test --skip-build 2>&1 | tee "$WORK/swift-test.log" || status=1
python3 -m pytest Tests/EndToEnd -q -p no:cacheprovider 2>&1 | tee "$WORK/pytest.log" || status=1

swift_line=$(grep -E "Test run with [0-9]+ tests? .*(passed|failed)" "$WORK/swift-test.log" | tail -n 1 || true)
py_line=$(grep -E "[0-9]+ (passed|failed)" "$WORK/pytest.log" | tail -n 1 || true)
log "swift: ${swift_line:-no summary}"
log "end-to-end: ${py_line:-no summary}"
exit $status
