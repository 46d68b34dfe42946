#!/usr/bin/env bash
# What the container proof needs on a Debian 12 machine, and nothing when it is there: podman with runc
# (crun refuses this VM's hybrid cgroups), debootstrap for the base image, the CNI DNS plugin (compose
# services find each other by name), and from PyPI podman-compose
# and kubernetes-validate.
set -euo pipefail
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
missing=()
for pkg in podman runc catatonit debootstrap uidmap slirp4netns fuse-overlayfs binutils golang-github-containernetworking-plugin-dnsname; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[install-podman] apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
python3 -c 'import podman_compose' 2>/dev/null && command -v kubernetes-validate >/dev/null \
  || python3 -m pip install -q podman-compose kubernetes-validate
