#!/usr/bin/env bash
# Installs what mentionflow needs to run on a fresh Linux x86_64 machine with
# Node 20, npm, Python 3 + pip and a C++ toolchain: the npm packages (with
# install scripts off, because tfjs-node's would download libtensorflow
# from the internet), the native TensorFlow library from the tensorflow-cpu
# wheel on PyPI (deploy/native), mentionflow's addon (schemas/native, when
# libdeflate-dev is there or apt-get can install it), and the TypeScript
# build. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "== npm ci"
  npm ci --ignore-scripts --no-audit --no-fund
fi
echo "== native TensorFlow backend"
bash deploy/native/install-libtensorflow.sh
echo "== mentionflow's native addon: libdeflate, ISA-L and the archive's Post check (optional: TypeScript and node:zlib without it)"
bash deploy/native/build-native-addon.sh
echo "== build"
npm run build --silent
