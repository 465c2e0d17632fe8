#!/usr/bin/env bash
# Builds localhost/mentionflow-kafka:7.9.0, Apache Kafka 3.9.2 from the Maven jars of deploy/kafka
# (resolved by deploy/kafka/start.sh's Maven step if missing). The tag is the Confluent Platform
# version that ships Kafka 3.9: @testcontainers/kafka reads the tag as a cp-kafka version (KRaft
# needs >= 7.0.0), so deploy/kafka/testcontainers.mjs --image works with it.
#   bash deploy/kafka/image/build.sh [TAG]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/deploy/podman/containers.conf}"
TAG="${1:-localhost/mentionflow-kafka:7.9.0}"
LIBS="$HERE/../target/libs"
if ! ls "$LIBS"/kafka_2.13-*.jar >/dev/null 2>&1; then
  command -v mvn >/dev/null || { echo "mvn not found and $LIBS is missing" >&2; exit 1; }
  mvn -q -B -ntp -f "$HERE/../pom.xml" package
fi
podman image exists docker.io/library/debian:bookworm-slim || podman pull -q docker.io/library/debian:bookworm-slim >/dev/null 2>&1 ||
  bash "$ROOT/deploy/image/base-images.sh"
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp -rL "$LIBS" "$ctx/libs"
cp "$HERE/Dockerfile" "$HERE/kafka-run" "$ctx/"
podman build --format docker -t "$TAG" "$ctx" >&2
echo "[kafka-image] built $TAG: $(podman image inspect --format '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}')" >&2
