#!/usr/bin/env bash
# Build the Debian base image the LayerLab images start FROM, from Debian's own packages, for
# hosts where no image registry is reachable (where one is, BASE=debian:bookworm-slim does the
# same). Needs root, debootstrap and a reachable Debian mirror:
#
#   sudo apt-get install -y debootstrap docker.io
#   sudo deploy/base-image.sh                  # -> image layerlab-base:bookworm
#
# MIRROR (default http://deb.debian.org/debian) and TAG may be set in the environment.
set -euo pipefail
MIRROR=${MIRROR:-http://deb.debian.org/debian}
TAG=${TAG:-layerlab-base:bookworm}
root=$(mktemp -d /var/tmp/layerlab-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
# minbase: apt and the essentials; python3 and the rest are installed by deploy/Dockerfile.
debootstrap --variant=minbase bookworm "$root" "$MIRROR"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' - "$TAG"
echo "built $TAG"
