#!/usr/bin/env bash
# Builds the six service images and the console's here, from host-built release binaries, plus the
# development Postgres and Tansu images of the dev overlay, all on a Debian 12 base made with
# debootstrap (no registry is needed). Tags: localhost/swift-engage/<name>:<version> and :latest,
# version from ENGAGE_IMAGE_VERSION or `git describe`. Idempotent; reuses the base image and the build cache.
set -euo pipefail
source "$(dirname "$0")/../dev/lib.sh"
cd "$ENGAGE_ROOT"
export CONTAINERS_CONF="$ENGAGE_ROOT/deploy/containers/containers.conf"

SERVICES=(profiles subscriptions audiences journeys messaging-send events-source console)
version=${ENGAGE_IMAGE_VERSION:-$(git describe --always --dirty 2>/dev/null || echo dev)}
base=localhost/swift-engage-base:bookworm

if ! podman image exists "$base"; then
  log "making the Debian 12 base image with debootstrap (about a minute)"
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  rootfs=$(mktemp -d /tmp/engage-rootfs.XXXXXX)
  debootstrap --variant=minbase bookworm "$rootfs" "${mirror:-http://deb.debian.org/debian}" >/dev/null
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$base" >/dev/null
  rm -rf "$rootfs"
fi

ls .dev/librdkafka/librdkafka1_*.deb >/dev/null 2>&1 \
  || bash deploy/librdkafka/build-backport.sh .dev/librdkafka

log "building release binaries (--static-swift-stdlib)"
swift build -c release --static-swift-stdlib >/dev/null
bin=$(swift build -c release --show-bin-path)

context=$(mktemp -d /tmp/engage-image.XXXXXX)
trap 'rm -rf "$context"' EXIT
mkdir -p "$context/debs"
cp .dev/librdkafka/librdkafka1_*.deb "$context/debs/"
cp deploy/containers/runtime-setup.sh "$context/"
# The library target whose resource bundle a service's executable looks for next to it.
core_target() {
  case "$1" in
    messaging-send) echo MessagingSendCore ;;
    events-source) echo EventsSourceCore ;;
    *) echo "$(tr '[:lower:]' '[:upper:]' <<<"${1:0:1}")${1:1}Core" ;;
  esac
}
for service in "${SERVICES[@]}"; do
  # bin/ becomes /usr/local/bin: the binary, and its library's resource bundle beside it (the
  # OpenAPI document; the console's templates and assets).
  rm -rf "$context/bin"
  mkdir "$context/bin"
  install -m 755 "$bin/$service" "$context/bin/service"
  strip "$context/bin/service"
  bundle="$bin/swift-engage_$(core_target "$service").resources"
  [ -d "$bundle" ] || { log "no resource bundle $bundle"; exit 1; }
  cp -R "$bundle" "$context/bin/"
  podman build -q --format docker --network host -f deploy/containers/Containerfile.local --build-arg SERVICE="$service" \
    --build-arg VERSION="$version" -t "localhost/swift-engage/$service:$version" -t "localhost/swift-engage/$service:latest" \
    "$context" >/dev/null
  log "image localhost/swift-engage/$service:$version ($(podman image inspect --format '{{.Size}}' "localhost/swift-engage/$service:$version" | awk '{printf "%d MB", $1/1e6}'))"
done

podman build -q --format docker --network host -f deploy/containers/dev/Containerfile.postgres \
  -t localhost/swift-engage/dev-postgres:latest deploy/containers/dev >/dev/null
rm -rf "$context"/*
cp "$(tansu_bin)" "$context/tansu"
podman build -q --format docker -f deploy/containers/dev/Containerfile.tansu -t localhost/swift-engage/dev-tansu:latest "$context" >/dev/null
log "images built: version $version"
