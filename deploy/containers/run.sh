#!/usr/bin/env bash
# The container proof, on one machine with podman: builds the six service images and the console's
# (and the dev Postgres and broker images), plays the Kubernetes dev overlay (deploy/k8s/dev) with
# `podman kube play`, drives it from the host as its users would (Tests/Containers: Segment's client,
# the Profile API, a Kafka consumer on the published listener, a killed container, an image upgrade
# under traffic, the console's sign-in page), and tears it all down, whatever the outcome. About 20
# minutes from a cold release build on 2 cores, so it is its own command rather than part of
# deploy/dev/test.sh.
set -euo pipefail
source "$(dirname "$0")/../dev/lib.sh"
cd "$ENGAGE_ROOT"
export CONTAINERS_CONF="$ENGAGE_ROOT/deploy/containers/containers.conf"

bash deploy/dev/install-deps.sh
bash deploy/containers/install-podman.sh
bash deploy/containers/build-images.sh

# The upgrade target: the same code under a new tag and label, as a release would be.
upgrade_tag="upgrade-$(date +%s)"
ENGAGE_IMAGE_VERSION=$upgrade_tag bash deploy/containers/build-images.sh >/dev/null

stack=deploy/k8s/dev/engage-dev.yaml
teardown() {
  log "tearing down the dev overlay"
  podman kube down "$stack" >/dev/null 2>&1 || true
  # The upgrade test replaces events-source's pod from a file of its own: remove it by name.
  podman pod rm -f events-source-pod-0 >/dev/null 2>&1 || true
}
trap teardown EXIT
teardown
log "podman kube play $stack"
podman kube play "$stack" >/dev/null
ENGAGE_UPGRADE_TAG=$upgrade_tag python3 -m pytest Tests/Containers/test_containers.py -q -p no:cacheprovider
teardown

# docker-compose.yml, with the images built here standing in for the registry's.
envfile=$(mktemp /tmp/engage-compose-env.XXXXXX)
cat > "$envfile" <<ENV
POSTGRES_PASSWORD=$(openssl rand -hex 16)
ENGAGE_DB_PASSWORD=$(openssl rand -hex 16)
ENGAGE_ADMIN_TOKEN=$(openssl rand -hex 16)
ENGAGE_SECRETS_KEY=$(openssl rand -base64 32)
ENGAGE_CONSOLE_SESSION_KEY=$(openssl rand -base64 32)
ENGAGE_VERSION=latest
ENV
compose=(podman-compose --env-file "$envfile" -f docker-compose.yml -f deploy/compose/local.yml)
compose_down() {
  log "removing the compose project"
  "${compose[@]}" down -v >/dev/null 2>&1 || true
  rm -f "$envfile"
}
trap 'compose_down; teardown' EXIT
log "podman-compose up (docker-compose.yml + deploy/compose/local.yml)"
"${compose[@]}" up -d >/dev/null
# shellcheck disable=SC1090
ENGAGE_TEST_ADMIN_TOKEN=$(. "$envfile"; echo "$ENGAGE_ADMIN_TOKEN") python3 -m pytest Tests/Containers/test_compose.py -q -p no:cacheprovider
