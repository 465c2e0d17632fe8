#!/usr/bin/env bash
# Fetches jieba's general dictionary (dict.txt: 349,046 "word freq pos" lines,
# with person nr, place ns and organisation nt names) for SoftLexicon features
# (training option softLexiconFile) from the jieba package on PyPI, into a cache
# outside the repository, and prints its path. The dictionary is never
# committed; a model trained with it carries the words it kept in its
# manifest, so serving needs no file. Pinned version and checksum; idempotent.
#
#   bash deploy/fetch-jieba-dict.sh      # -> ~/.cache/mentionflow/jieba-dict.txt
#   MENTIONFLOW_CACHE=/some/dir bash deploy/fetch-jieba-dict.sh
set -euo pipefail
VERSION=0.42.1
SHA256=7197c3211ddd98962b036cdf40324d1ea2bfaa12bd028e68faa70111a88e12a8
CACHE="${MENTIONFLOW_CACHE:-$HOME/.cache/mentionflow}"
OUT="$CACHE/jieba-dict.txt"

check() { echo "$SHA256  $1" | sha256sum --check --status; }

if [[ -f "$OUT" ]] && check "$OUT"; then
  echo "$OUT"
  exit 0
fi
mkdir -p "$CACHE"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
python3 -m pip download --quiet --no-deps --no-binary :all: "jieba==$VERSION" -d "$TMP" >&2
tar -xzf "$TMP/jieba-$VERSION.tar.gz" -C "$TMP" "jieba-$VERSION/jieba/dict.txt"
if ! check "$TMP/jieba-$VERSION/jieba/dict.txt"; then
  echo "jieba $VERSION dict.txt does not have the expected sha256 $SHA256; not installed" >&2
  exit 1
fi
mv "$TMP/jieba-$VERSION/jieba/dict.txt" "$OUT"
echo "$OUT"
