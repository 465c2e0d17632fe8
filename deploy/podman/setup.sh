#!/usr/bin/env bash
# Root podman on a Debian 12 machine with no Docker engine and no image registry (our machines, CI):
#   1. apt-get install podman runc (+ mmdebstrap for the base images, podman-compose, prometheus;
#      iptables, which netavark runs for every container network: without it a build RUN step
#      fails with "netavark: No such file or directory")
#   2. this directory's containers.conf (runc, cgroupfs, no default ulimits) via CONTAINERS_CONF
#   3. with --service: `podman system service` on unix:///run/podman/podman.sock, the Docker API
#      Testcontainers talks to (DOCKER_HOST; Ryuk disabled: its image is not on any registry here)
# Prints the environment to export, one VAR=value per line, on stdout:
#   while read -r kv; do export "$kv"; done < <(bash deploy/podman/setup.sh --service)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SOCK=/run/podman/podman.sock
log() { printf '[podman-setup %ss] %s\n' "$SECONDS" "$*" >&2; }

need=()
for pkg in podman runc mmdebstrap podman-compose prometheus iptables; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  log "apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    "${need[@]}" netavark aardvark-dns uidmap >&2
fi
export CONTAINERS_CONF="$HERE/containers.conf"
podman info --format '{{.Host.OCIRuntime.Path}} {{.Host.CgroupManager}} {{.Host.NetworkBackend}}' >&2
echo "CONTAINERS_CONF=$CONTAINERS_CONF"

if [ "${1:-}" = --service ]; then
  if ! curl -sf --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1; then
    mkdir -p "$(dirname "$SOCK")"
    log "podman system service on unix://$SOCK (log: /run/podman/service.log)"
    nohup podman system service --time=0 "unix://$SOCK" >/run/podman/service.log 2>&1 </dev/null &
    echo $! >/run/podman/service.pid
    for _ in $(seq 1 50); do curl -sf --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1 && break; sleep 0.2; done
  fi
  curl -sf --unix-socket "$SOCK" http://d/_ping >/dev/null || { log "ERROR: the Docker API socket does not answer"; exit 1; }
  echo "DOCKER_HOST=unix://$SOCK"
  echo "TESTCONTAINERS_RYUK_DISABLED=true"
fi
