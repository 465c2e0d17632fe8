#!/usr/bin/env bash
# Builds schemas/native (mentionflow_native.node: raw DEFLATE with libdeflate,
# statically linked, and with ISA-L's igzip, opened at run time from libisal.so.2;
# the archive sink's Post check of a fetched batch; the CRF's decoders) offline with npm's
# node-gyp and the Node headers on this machine. Where it is built the archive's
# deflate codec and Post check use it (schemas/nativeAddon.ts); elsewhere
# node:zlib and the TypeScript scan do the same work, at about twice (libdeflate)
# or four times (ISA-L) the deflate CPU, and the CRF decodes in TypeScript. Needs libdeflate's header and static
# library (Debian: libdeflate-dev); ISA-L's header (libisal-dev, which brings
# libisal2) is optional: without it the addon is built without ISA-L. Both are
# installed here with apt-get when run as root. Idempotent:
# rebuilds only when a source changed. Exit 0 with a line saying why when it
# cannot build (the TypeScript paths stay); --require makes that exit 1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
T_START=$SECONDS
log() { printf '[native-addon %3ss] %s\n' "$((SECONDS - T_START))" "$*"; }
REQUIRE=0
[[ "${1:-}" == --require ]] && REQUIRE=1
die() {
  printf '[native-addon] %s\n' "$*" >&2
  if [[ "$REQUIRE" == 1 ]]; then exit 1; fi
  printf '[native-addon] not built: the archive deflates with node:zlib and checks Posts in TypeScript, and the CRF decodes in TypeScript\n' >&2
  exit 0
}
SRC="$ROOT/schemas/native"
OUT="$SRC/build/Release/mentionflow_native.node"
STAMP="$SRC/build/.source-sum"
lib_ok() { [[ -f /usr/include/libdeflate.h ]] && compgen -G '/usr/lib/*/libdeflate.a' > /dev/null; }
isal_ok() { [[ -f /usr/include/isa-l/igzip_lib.h ]]; }
if { ! lib_ok || ! isal_ok; } && [[ $(id -u) == 0 ]] && command -v apt-get > /dev/null; then
  log "apt-get install libdeflate-dev libisal-dev"
  apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" > /dev/null 2>&1; }
  { apt_install libdeflate-dev libisal-dev || { apt-get update -qq > /dev/null 2>&1 && apt_install libdeflate-dev libisal-dev; } \
    || apt_install libdeflate-dev; } || true
fi
lib_ok || die "libdeflate.h or libdeflate.a not found (Debian: apt-get install libdeflate-dev)"
isal_ok || log "ISA-L's header not found (Debian: apt-get install libisal-dev): building without ISA-L, deflate uses libdeflate"

# The sources, and whether ISA-L's header is here (installing libisal-dev later rebuilds with it).
SUM="$({ cat "$SRC"/*.c "$SRC"/*.h "$SRC/binding.gyp"; isal_ok && echo with-isal; } | sha256sum | cut -d' ' -f1)"
if [[ -f "$OUT" && -f "$STAMP" && "$(cat "$STAMP")" == "$SUM" ]]; then
  log "up to date: ${OUT#"$ROOT"/}"
  exit 0
fi

# shellcheck source=deploy/native/node-gyp-env.sh
source "$ROOT/deploy/native/node-gyp-env.sh"
mkdir -p "$ROOT/.cache"
BUILD_LOG="$ROOT/.cache/native-addon-build.log"
if ! (cd "$SRC" && node "$NODE_GYP_JS" rebuild --nodedir="$NODEDIR" > "$BUILD_LOG" 2>&1); then
  tail -20 "$BUILD_LOG" >&2
  die "node-gyp failed (log: ${BUILD_LOG#"$ROOT"/})"
fi
rm -rf "$SRC/build/Release/obj.target" "$SRC/build/Release/.deps"
# Loads, compresses what node:zlib inflates back to the same bytes (ISA-L too where it loads), checks a record, and decodes a one-tag CRF.
node -e '
  const { deflateRaw, isalDeflateRaw, isalStatus, checkPosts } = require(process.argv[1]);
  const { inflateRawSync } = require("node:zlib");
  const input = Buffer.from("mentionflow ".repeat(1000));
  if (!inflateRawSync(deflateRaw(input, 1)).equals(input)) { console.error("round trip failed"); process.exit(1); }
  if (isalStatus() === null && !inflateRawSync(isalDeflateRaw(input, 1)).equals(input)) { console.error("ISA-L round trip failed"); process.exit(1); }
  const post = Buffer.from([2, 0x61, 0, 0, 2, 0, 0, 0, 0, 0, 0]);
  const status = new Uint8Array(1), created = new Float64Array(1);
  checkPosts(post.buffer, new Uint32Array([post.byteOffset]), new Uint32Array([post.byteOffset + post.length]), status, created);
  if (status[0] !== 0 || created[0] !== 1) { console.error("checkPosts: status " + status[0] + ", created_at " + created[0]); process.exit(1); }
  const path = new Int32Array(1), one = () => new Float32Array([0]);
  if (require(process.argv[1]).crfViterbi(one(), one(), one(), new Float32Array([1]), 0, 1, path) !== 1) { console.error("crfViterbi: wrong score"); process.exit(1); }
' "$OUT" || die "the built addon failed its checks"
echo "$SUM" > "$STAMP"
ISAL="$(node -e 'const s = require(process.argv[1]).isalStatus(); console.log(s === null ? "ISA-L loads" : "no ISA-L: " + s)' "$OUT")"
log "built ${OUT#"$ROOT"/} ($(stat -c %s "$OUT") bytes, libdeflate statically linked; $ISAL)"
