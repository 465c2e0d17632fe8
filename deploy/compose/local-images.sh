#!/usr/bin/env bash
# The images compose.yaml names, for a machine with podman and no image registry:
#   localhost/mentionflow:dev          deploy/image/build.sh
#   localhost/mentionflow-kafka:7.9.0  deploy/kafka/image/build.sh
#   docker.io/prom/prometheus:v2.42.0  pulled, or else a stand-in: Debian's prometheus 2.42 package
#                                      with the official image's layout (ENTRYPOINT /bin/prometheus,
#                                      data in /prometheus, user nobody)
# Grafana is not built (no Debian package): compose.yaml keeps the service; start the others by name.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/deploy/podman/containers.conf}"
PROM=docker.io/prom/prometheus:v2.42.0
podman image exists localhost/mentionflow:dev || bash "$ROOT/deploy/image/build.sh"
podman image exists localhost/mentionflow-kafka:7.9.0 || bash "$ROOT/deploy/kafka/image/build.sh"
if ! podman image exists "$PROM" && ! podman pull -q "$PROM" >/dev/null 2>&1; then
  podman image exists docker.io/library/debian:bookworm-slim || bash "$ROOT/deploy/image/base-images.sh"
  echo "[local-images] building a stand-in $PROM from Debian's prometheus package" >&2
  podman build --format docker -t "$PROM" -f - "$ROOT/deploy/compose" <<'CONTAINERFILE' >&2
FROM docker.io/library/debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends prometheus \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /prometheus /etc/prometheus && chown nobody:nogroup /prometheus
USER nobody
EXPOSE 9090
WORKDIR /prometheus
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
CONTAINERFILE
fi
