#!/bin/sh
# The runtime layer of every service image, run inside the image build (deploy/Dockerfile and
# Containerfile.local) as `runtime-setup.sh SERVICE`: librdkafka from the backport .debs in /tmp/debs
# with its dependencies, CA certificates (TLS to Postgres and webhooks), time zones, curl for the
# health check, and the unprivileged user the service runs as. The console also gets Debian's browser
# libraries (Chart.js and CodeMirror in /usr/share/javascript, its ENGAGE_CONSOLE_VENDOR_DIR). Nothing
# else: no compilers, no shell tools beyond the base.
set -eu
service=${1:?usage: runtime-setup.sh SERVICE}
extra=
if [ "$service" = console ]; then
  extra="libjs-chart.js libjs-codemirror"
fi
apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  ca-certificates tzdata curl /tmp/debs/librdkafka1_*.deb $extra >/dev/null
if [ "$service" = console ]; then
  test -d /usr/share/javascript/chart.js && test -d /usr/share/javascript/codemirror
fi
apt-get clean
rm -rf /var/lib/apt/lists/* /tmp/debs /var/cache/debconf/*-old /var/log/*.log
useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin engage
