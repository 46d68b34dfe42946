#!/usr/bin/env bash
# Builds librdkafka's .debs for Debian 12 (bookworm) into OUTDIR: Debian's own newer source package
# (sid) as a local backport, with one guard of ours (guard.py). Used by deploy/dev/install-deps.sh on
# the host and by the image build (deploy/Dockerfile), so that the services run on the same library
# everywhere. About 3 minutes on 2 cores.
#
# Why: bookworm's 2.0.2 cannot talk to current brokers, and 2.4-2.9 corrupt their metadata cache and
# crash (SIGSEGV) when a topic comes back with a new topic id, as it does after an empty broker restart
# (librdkafka issue 4964). The backport keeps the vendored OpenTelemetry and cJSON sources that sid's
# packaging takes from packages bookworm lacks. The guard: 2.14 dereferences a NULL topic name when a
# broker answers a fetch with neither a topic id nor a name, which the development broker does when it
# comes back empty while consumers still fetch by the old ids.
set -euo pipefail
out=${1:?usage: build-backport.sh OUTDIR}
version=2.14.2-1
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf '[librdkafka] %s\n' "$*"; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

# Build tools first (dpkg-source, dpkg-parsechangelog); libcjson-dev and libnanopb-dev only because the
# -dev package names them as dependencies.
build_deps=(debhelper dpkg-dev fakeroot libcurl4-openssl-dev liblz4-dev libsasl2-dev libssl-dev zlib1g-dev libcjson-dev
            libnanopb-dev libzstd-dev rapidjson-dev python3 pkgconf ca-certificates)
missing=()
for pkg in "${build_deps[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/engage-rdk-src.XXXXXX)
trap '$SUDO rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/parts"
uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$uri" ] || uri="http://deb.debian.org/debian"
printf 'Types: deb-src\nURIs: %s\nSuites: sid\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" > "$work/parts/sid-src.sources"
o="-oDir::Etc::SourceList=/dev/null -oDir::Etc::SourceParts=$work/parts -oDir::State::Lists=$work/lists"
# shellcheck disable=SC2086
$SUDO apt-get $o update -qq
# shellcheck disable=SC2086
# Pinned: the version the guard and the tests know. When sid moves on, this fails here, loudly, rather
# than building (and shipping) a version nobody tested; update the pin and review guard.py then.
(cd "$work" && apt-get $o source --download-only -qq "librdkafka=$version") \
  || { log "librdkafka $version is no longer in Debian sid: update the pin in build-backport.sh and review guard.py"; exit 1; }
(cd "$work" && dpkg-source -x --skip-patches librdkafka_*.dsc src >/dev/null)
# Drop the packaging's switch to external nanopb/cJSON (not in bookworm): the upstream tree vendors both.
: > "$work/src/debian/patches/series"
python3 "$here/guard.py" "$work/src" "$(cd "$work/src" && dpkg-parsechangelog -S Version)+engage1"
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
mkdir -p "$out"
cp "$work"/librdkafka1_*.deb "$work"/librdkafka++1_*.deb "$work"/librdkafka-dev_*.deb "$out"/
log "built $(cd "$out" && ls librdkafka1_*.deb)"
