#!/usr/bin/env bash
# Checks the alert rules (syntax, PromQL) and runs their unit tests, with Debian's promtool
# (deploy/dev/install-deps.sh puts it in .dev/tools).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
promtool="${PROMTOOL:-$here/../../.dev/tools/promtool}"
cd "$here"
"$promtool" check rules alerts.yml
"$promtool" test rules alerts-test.yml
python3 check-dashboard.py
