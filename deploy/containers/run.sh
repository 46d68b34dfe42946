#!/usr/bin/env bash
# The container proof, on one machine with podman: builds the six service images (and the dev Postgres
# and broker images), plays the Kubernetes dev overlay (deploy/k8s/dev) with `podman kube play`, drives
# it from the host as its users would (Tests/Containers: Segment's client, the Profile API, a Kafka
# consumer on the published listener, a killed container, an image upgrade under traffic), and tears it
# all down, whatever the outcome. About 20 minutes from a cold release build on 2 cores, so it is its
# own command rather than part of deploy/dev/test.sh.
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
ENGAGE_UPGRADE_TAG=$upgrade_tag python3 -m pytest Tests/Containers -q -p no:cacheprovider
