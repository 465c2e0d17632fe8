#!/usr/bin/env bash
# Builds the worker image with podman from the repository root:
#   bash deploy/image/build.sh [TAG]          # default TAG: localhost/mentionflow:dev
# 1. the base images, if absent and no registry is reachable (deploy/image/base-images.sh);
# 2. podman build --format docker (the docker format keeps HEALTHCHECK; OCI drops it), with
#    the host's CA bundle when it holds CAs beyond Debian's (a TLS-intercepting proxy) and the
#    host's libtensorflow wheel cache (.cache/libtensorflow, filled by deploy/install.sh) mounted,
#    so the 232 MB wheel is not downloaded twice. Neither ends up in the image.
# Prints the image size. Env: CONTAINERS_CONF (default deploy/podman/containers.conf).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/deploy/podman/containers.conf}"
TAG="${1:-localhost/mentionflow:dev}"
log() { printf '[image %ss] %s\n' "$SECONDS" "$*" >&2; }

if ! podman image exists docker.io/library/node:20-bookworm-slim || ! podman image exists docker.io/library/node:20-bookworm; then
  if podman pull -q docker.io/library/node:20-bookworm-slim >/dev/null 2>&1 && podman pull -q docker.io/library/node:20-bookworm >/dev/null 2>&1; then
    log "base images pulled from Docker Hub"
  else
    log "no registry reachable: building the base images from Debian packages"
    bash deploy/image/base-images.sh
  fi
fi

args=(--format docker -f deploy/image/Dockerfile -t "$TAG" --layers)
bundle=/etc/ssl/certs/ca-certificates.crt
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] || [ -n "$(ls /usr/local/share/ca-certificates 2>/dev/null)" ]; then
  args+=(--volume "$bundle:$bundle:ro" --build-arg "NODE_EXTRA_CA_CERTS=$bundle")
  log "passing the host's CA bundle to the build (extra CAs in /usr/local/share/ca-certificates)"
fi
mkdir -p .cache/libtensorflow
args+=(--volume "$ROOT/.cache/libtensorflow:/tmp/libtensorflow")
log "podman build -t $TAG"
podman build "${args[@]}" .
log "built $TAG: $(podman image inspect --format '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}')"
