#!/usr/bin/env bash
# Builds, from Debian packages only, the two base images deploy/image/Dockerfile names:
#   docker.io/library/node:20-bookworm-slim  (runtime: Debian 12 minbase + Node 20)
#   docker.io/library/node:20-bookworm       (build stage: the same + python3, pip, make, g++, patch: what
#                                            the official image (buildpack-deps) has and deploy/native needs)
#   docker.io/library/debian:bookworm-slim   (Debian 12 minbase, no Node: the Kafka image's base,
#                                            deploy/kafka/image/Dockerfile)
# Where Docker Hub is reachable you do not need this script: the Dockerfile pulls the official
# images under the same names. Here no image registry is reachable, so the root file system
# comes from mmdebstrap (deb.debian.org) and Node 20 from this machine's own install (the
# NodeSource `nodejs` deb; Node 20 is not in bookworm), laid out as the official image lays it
# out: /usr/local/{bin,lib/node_modules,include/node}, user `node` 1000:1000, CMD ["node"].
#
#   CONTAINERS_CONF=deploy/podman/containers.conf bash deploy/image/base-images.sh
#
# Env: FORCE=1 rebuilds images that exist; MIRROR (default http://deb.debian.org/debian).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$HERE/../podman/containers.conf}"
SLIM=docker.io/library/node:20-bookworm-slim
FULL=docker.io/library/node:20-bookworm
DEBIAN=docker.io/library/debian:bookworm-slim
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
log() { printf '[base-images %ss] %s\n' "$SECONDS" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for tool in podman mmdebstrap node; do command -v "$tool" >/dev/null || die "$tool not found (apt-get install podman mmdebstrap; node 20 on PATH)"; done
NODE_BIN="$(readlink -f "$(command -v node)")"
NODE_PREFIX="$(dirname "$(dirname "$NODE_BIN")")"
"$NODE_BIN" -e 'process.exit(process.versions.node.split(".")[0] === "20" ? 0 : 1)' || die "node on PATH is not Node 20: $("$NODE_BIN" --version)"
[ -d "$NODE_PREFIX/lib/node_modules/npm" ] || die "npm not found under $NODE_PREFIX/lib/node_modules"
[ -f "$NODE_PREFIX/include/node/node_api.h" ] || die "Node headers not found under $NODE_PREFIX/include/node (needed to build the tfjs-node addon)"

have() { podman image exists "$1" && [ -z "${FORCE:-}" ]; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Node 20 as the official image has it: /usr/local/{bin/node,lib/node_modules/{npm,corepack},include/node}
node_tree() {
  mkdir -p "$work/node/usr/local/bin" "$work/node/usr/local/lib/node_modules" "$work/node/usr/local/include"
  cp -a "$NODE_BIN" "$work/node/usr/local/bin/node"
  cp -a "$NODE_PREFIX/lib/node_modules/npm" "$work/node/usr/local/lib/node_modules/"
  cp -a "$NODE_PREFIX/include/node" "$work/node/usr/local/include/"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/node/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/node/usr/local/bin/npx"
}

# One Debian bootstrap (mmdebstrap, the slow part), then the Node images derived from it with podman
# build (the node tree copied in; the build image's extra packages from apt-get inside a container).
debian() {
  log "mmdebstrap bookworm minbase -> $DEBIAN"
  mmdebstrap --variant=minbase --components=main --include=ca-certificates --quiet \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/usr/share/doc/* "$1"/usr/share/man/*' \
    bookworm "$work/rootfs.tar" "$MIRROR"
  podman import --quiet --change 'CMD ["bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$work/rootfs.tar" "$DEBIAN" >/dev/null
  rm -f "$work/rootfs.tar"
}
slim() {
  log "$DEBIAN + Node 20 -> $SLIM"
  cat >"$work/Containerfile.slim" <<CONTAINERFILE
FROM $DEBIAN
COPY node/ /
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_VERSION=$("$NODE_BIN" -p process.versions.node)
CMD ["node"]
CONTAINERFILE
  podman build --quiet --format docker -f "$work/Containerfile.slim" -t "$SLIM" "$work" >/dev/null
}
full() {
  log "$SLIM + python3, pip, make, g++, patch, git -> $FULL"
  cat >"$work/Containerfile.full" <<CONTAINERFILE
FROM $SLIM
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip make g++ patch file xz-utils git \
 && rm -rf /var/lib/apt/lists/*
CONTAINERFILE
  podman build --quiet --format docker -f "$work/Containerfile.full" -t "$FULL" "$work" >/dev/null
}
size() { log "$1: $(podman image inspect --format '{{.Size}}' "$1" | awk '{printf "%.0f MB", $1/1e6}')"; }

node_tree
have "$DEBIAN" && log "$DEBIAN exists (FORCE=1 rebuilds)" || { debian; size "$DEBIAN"; }
have "$SLIM" && log "$SLIM exists (FORCE=1 rebuilds)" || { slim; size "$SLIM"; }
have "$FULL" && log "$FULL exists (FORCE=1 rebuilds)" || { full; size "$FULL"; }
log "done"
