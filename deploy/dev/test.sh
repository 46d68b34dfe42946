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

trap stop_private_infra EXIT
start_private_infra engage-test tls

export ENGAGE_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/engage"
# The same Postgres serves TLS with a certificate of this run's own authority (DatabaseTLSTests).
export ENGAGE_TEST_DATABASE_CA="$WORK/tls/ca.crt"
export ENGAGE_TEST_DATABASE_OTHER_CA="$WORK/tls/other-ca.crt"
export ENGAGE_TEST_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
export ENGAGE_BIN_PATH="$(swift build --show-bin-path)"

# While iterating: ENGAGE_SWIFT_TESTS=0 skips the Swift tests; ENGAGE_E2E="Tests/EndToEnd/test_x.py -k name"
# narrows the end-to-end run. CI sets neither.
status=0
# Formatting (.swift-format): reported with the tests' results, so one run shows every problem.
log "swift format lint"
if ! swift format lint --strict -r -p Package.swift Services Shared Tests > "$WORK/format.log" 2>&1; then
  cat "$WORK/format.log"
  log "formatting: run 'swift format -i -r -p Package.swift Services Shared Tests'"
  status=1
fi
# The Prometheus alert rules: promtool's syntax check and their unit tests (deploy/observability).
log "alert rules"
alerts="checked, unit tests passed"
if ! bash deploy/observability/check.sh > "$WORK/alerts.log" 2>&1; then
  cat "$WORK/alerts.log"
  alerts="failed (see above)"
  status=1
fi
if [ "${ENGAGE_SWIFT_TESTS:-1}" != 0 ]; then
  swift test --skip-build 2>&1 | tee "$WORK/swift-test.log" || status=1
else
  : > "$WORK/swift-test.log"
fi
# shellcheck disable=SC2086
python3 -m pytest ${ENGAGE_E2E:-Tests/EndToEnd} -q -p no:cacheprovider 2>&1 | tee "$WORK/pytest.log" || status=1

swift_line=$(grep -E "Test run with [0-9]+ tests? .*(passed|failed)" "$WORK/swift-test.log" | tail -n 1 || true)
py_line=$(grep -E "[0-9]+ (passed|failed)" "$WORK/pytest.log" | tail -n 1 || true)
log "swift: ${swift_line:-no summary}"
log "end-to-end: ${py_line:-no summary}"
log "format: $([ -s "$WORK/format.log" ] && echo "problems (see above)" || echo clean)"
log "alert rules: $alerts"
log "containers: not run here (about 20 minutes with a cold release build); deploy/containers/run.sh runs them with podman"
exit $status
