#!/usr/bin/env bash
# One command from a fresh checkout to mentions on screen: installs, builds,
# then runs the streaming job in its embedded mode (no Kafka): the sample
# posts in schemas/post/samples/posts.ndjson go through the same decode ->
# batch -> tag -> mentions stages with the shipped model (models/default),
# and the mention records are printed as NDJSON.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install.sh >&2
echo "== mentionflow run (embedded mode: sample posts -> mentions on stdout)" >&2
exec node dist/cli/main.js run "$@"
