#!/usr/bin/env bash
# ctest k8s_images_build (fixture K8S_IMAGES): deploy/podman/build-images, or
# skip (77) where podman is not installed.
set -euo pipefail
root=${1:?usage: build_images.sh SOURCE_DIR}
if ! command -v podman >/dev/null; then
  echo "podman is not installed (scripts/install-deps installs it): skipping" >&2
  exit 77
fi
exec "$root/deploy/podman/build-images"
