#!/bin/sh
# The runtime layer of every service image, run inside the image build (deploy/Dockerfile and
# Containerfile.local): librdkafka from the backport .debs in /tmp/debs with its dependencies,
# CA certificates (TLS to Postgres and webhooks), time zones, curl for the health check, and the
# unprivileged user the service runs as. Nothing else: no compilers, no shell tools beyond the base.
set -eu
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  ca-certificates tzdata curl /tmp/debs/librdkafka1_*.deb >/dev/null
apt-get clean
rm -rf /var/lib/apt/lists/* /tmp/debs /var/cache/debconf/*-old /var/log/*.log
useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin engage
