#!/usr/bin/env bash
# Install the native TensorFlow backend of @tensorflow/tfjs-node without
# Google storage.
#
# tfjs-node's own install script (scripts/install.js) downloads libtensorflow
# 2.9.1 and a prebuilt addon from storage.googleapis.com, which can't be reached
# here. This script does the same job from the PyPI registry:
#   1. download the pinned tensorflow-cpu wheel (PyPI) into .cache/libtensorflow/
#      (skipped when the cached wheel's sha256 matches),
#   2. extract libtensorflow_cc.so.2, libtensorflow_framework.so.2 and the C API
#      headers into node_modules/@tensorflow/tfjs-node/deps/,
#   3. patch tfjs-node's C++ sources (deploy/native/patches/) and compile
#      tfjs_binding.node from them against the extracted libraries
#      (node-pre-gyp + node-gyp, using the Node headers already on the machine;
#      nothing is fetched from nodejs.org),
#   4. load @tensorflow/tfjs-node and check that the backend is "tensorflow"
#      and that a matMul is right.
#
# Usage (from anywhere):
#   npm ci --ignore-scripts && bash deploy/native/install-libtensorflow.sh
# Env:
#   FORCE=1                 redo extraction and build even if up to date
#   LIBTF_CACHE_DIR=DIR     wheel cache (default: <root>/.cache/libtensorflow)
#   npm_config_nodedir=DIR  Node headers prefix (DIR/include/node/node_api.h)
# Undo: bash deploy/native/install-libtensorflow.sh --uninstall
set -Eeuo pipefail

# Pinned wheel: TF 2.12 is the first release whose Linux wheels ship
# libtensorflow_cc.so.2 with the C/eager C API (see deploy/native/README.md).
TF_VERSION="2.12.1"
PY_TAG="cp311"
WHEEL="tensorflow_cpu-${TF_VERSION}-${PY_TAG}-${PY_TAG}-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
WHEEL_SHA256="7ffb595707a8fb376deaddc768784c7a0242b16cbc6e06393b1733b2ce19f855"
TFJS_NODE_EXPECTED="4.22.0"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_DIR="${LIBTF_CACHE_DIR:-$ROOT/.cache/libtensorflow}"
TFJS_NODE_DIR="$ROOT/node_modules/@tensorflow/tfjs-node"
DEPS_DIR="$TFJS_NODE_DIR/deps"
STAMP_NAME=".mentionflow-libtensorflow"
STAMP_VALUE="tensorflow-cpu=${TF_VERSION} wheel-sha256=${WHEEL_SHA256}"

T_START=$SECONDS
CURRENT_STEP="startup"
log()  { printf '[libtensorflow %3ss] %s\n' "$((SECONDS - T_START))" "$*"; }
step() { CURRENT_STEP="$1"; log "==> $1"; }
die()  { printf '[libtensorflow] ERROR: %s\n' "$*" >&2; exit 1; }
on_err() {
  local rc=$?
  printf '[libtensorflow] ERROR: step "%s" failed (exit %s); fix the cause and re-run (the script is idempotent).\n' \
    "$CURRENT_STEP" "$rc" >&2
  exit "$rc"
}
trap on_err ERR

# ---------------------------------------------------------------- uninstall
if [[ "${1:-}" == "--uninstall" ]]; then
  step "uninstall"
  rm -rf "${DEPS_DIR:?}" "${TFJS_NODE_DIR:?}/lib" "${TFJS_NODE_DIR:?}/build" "${TFJS_NODE_DIR:?}"/build-tmp-napi-v*
  log "removed $DEPS_DIR, $TFJS_NODE_DIR/lib and the build dirs (wheel cache kept in $CACHE_DIR; rm -rf it to free ~230 MB)"
  exit 0
fi
[[ $# -eq 0 ]] || die "unknown argument '$1' (only --uninstall is accepted)"

# ---------------------------------------------------------------- preflight
step "preflight checks"
[[ "$(uname -s)" == "Linux" && "$(uname -m)" == "x86_64" ]] \
  || die "only linux x86_64 is supported (the wheel is manylinux2014_x86_64); got $(uname -s) $(uname -m)"
command -v node >/dev/null || die "node not found on PATH"
[[ -f "$TFJS_NODE_DIR/package.json" ]] \
  || die "$TFJS_NODE_DIR missing: run 'npm ci --ignore-scripts' in $ROOT first"
TFJS_NODE_VERSION="$(node -p "require('$TFJS_NODE_DIR/package.json').version")"
[[ "$TFJS_NODE_VERSION" == "$TFJS_NODE_EXPECTED" ]] \
  || log "WARNING: @tensorflow/tfjs-node is $TFJS_NODE_VERSION, this script was verified with $TFJS_NODE_EXPECTED"
PYTHON="$(command -v python3 || true)"
[[ -n "$PYTHON" ]] || die "python3 not found (needed by pip download, wheel extraction and node-gyp)"

# Where node-pre-gyp will put the addon (lib/napi-vN/tfjs_binding.node).
ADDON_PATH="$(cd "$TFJS_NODE_DIR" && node -e "
  const b = require(require.resolve('@mapbox/node-pre-gyp', {paths: [process.cwd()]}));
  console.log(b.find(require('path').resolve('package.json')));")" \
  || die "cannot resolve @mapbox/node-pre-gyp from $TFJS_NODE_DIR (incomplete npm ci?)"
log "tfjs-node $TFJS_NODE_VERSION, node $(node -v) (N-API $(node -p process.versions.napi)), addon target ${ADDON_PATH#"$ROOT"/}"

# ---------------------------------------------------------------- verify fn
verify() {
  step "verify: load @tensorflow/tfjs-node and run matMul"
  # TF_CPP_MIN_LOG_LEVEL=1 hides TensorFlow's INFO lines (oneDNN, CPU features).
  (cd "$ROOT" && TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-1}" node -e "
    const tf = require('@tensorflow/tfjs-node');
    const backend = tf.getBackend();
    const tfVersion = tf.backend().binding.TF_Version;
    const c = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]]));
    const got = c.arraySync();
    console.log('tf.getBackend() =', backend, '| libtensorflow', tfVersion);
    console.log('matMul([[1,2],[3,4]], [[5,6],[7,8]]) =', JSON.stringify(got));
    if (backend !== 'tensorflow') { console.error('expected backend \"tensorflow\"'); process.exit(1); }
    if (JSON.stringify(got) !== '[[19,22],[43,50]]') { console.error('wrong matMul result'); process.exit(1); }
  ") || die "verification failed: @tensorflow/tfjs-node did not load or computed a wrong result (see output above)"
}

# ---------------------------------------------------------------- state
# deps/ is current when its stamp names this wheel; the addon is current when
# it is newer than that stamp and was built with the current patches. Only the missing parts are redone.
NEED_EXTRACT=1
if [[ "${FORCE:-0}" != "1" && -f "$DEPS_DIR/$STAMP_NAME" \
      && "$(cat "$DEPS_DIR/$STAMP_NAME")" == "$STAMP_VALUE" \
      && -f "$DEPS_DIR/lib/libtensorflow_cc.so.2" && -f "$DEPS_DIR/lib/libtensorflow_framework.so.2" ]]; then
  NEED_EXTRACT=0
fi
# The addon also records which of our source patches it was built with.
shopt -s nullglob
PATCHES=("$ROOT"/deploy/native/patches/*.patch)
shopt -u nullglob
PATCHES_SUM="$( (( ${#PATCHES[@]} == 0 )) || cat "${PATCHES[@]}"; )"
PATCHES_SUM="$(printf '%s' "$PATCHES_SUM" | sha256sum | cut -d' ' -f1)"
ADDON_STAMP="$ADDON_PATH.mentionflow-patches"
NEED_BUILD=1
if [[ "$NEED_EXTRACT" == 0 && -f "$ADDON_PATH" && "$ADDON_PATH" -nt "$DEPS_DIR/$STAMP_NAME" \
      && "$(cat "$ADDON_STAMP" 2>/dev/null)" == "$PATCHES_SUM" ]]; then
  NEED_BUILD=0
fi
if [[ "$NEED_BUILD" == 0 ]]; then
  log "already installed ($STAMP_VALUE); FORCE=1 to redo"
  verify
  log "done in $((SECONDS - T_START))s"
  exit 0
fi

# Build tools and Node headers: checked before the big download so a missing
# tool fails in a second, not after it.
# shellcheck source=deploy/native/node-gyp-env.sh
source "$ROOT/deploy/native/node-gyp-env.sh"

mkdir -p "$CACHE_DIR"
WHEEL_PATH="$CACHE_DIR/$WHEEL"

# ---------------------------------------------------------------- download
sha_ok() { [[ -f "$1" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$WHEEL_SHA256" ]]; }
download_wheel() {
  step "download tensorflow-cpu==$TF_VERSION wheel from PyPI"
  if sha_ok "$WHEEL_PATH"; then
    log "cached: ${WHEEL_PATH#"$ROOT"/} ($(du -m "$WHEEL_PATH" | cut -f1) MB, sha256 ok)"
  else
    rm -f "$WHEEL_PATH"
    TMP_DL="$(mktemp -d "$CACHE_DIR/download.XXXXXX")"
    T0=$SECONDS
    # --python-version/--platform/--abi pin the exact file, whatever python3 this is.
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$PYTHON" -m pip download --no-deps --only-binary=:all: \
        --python-version 3.11 --implementation cp --abi "$PY_TAG" --platform manylinux2014_x86_64 \
        --progress-bar off -d "$TMP_DL" "tensorflow-cpu==$TF_VERSION" \
      || { rm -rf "$TMP_DL"; die "pip download of tensorflow-cpu==$TF_VERSION failed (is PyPI reachable? see pip output above)"; }
    [[ -f "$TMP_DL/$WHEEL" ]] || { ls -l "$TMP_DL" >&2; rm -rf "$TMP_DL"; die "pip did not produce $WHEEL"; }
    if ! sha_ok "$TMP_DL/$WHEEL"; then
      got="$(sha256sum "$TMP_DL/$WHEEL" | cut -d' ' -f1)"; rm -rf "$TMP_DL"
      die "sha256 mismatch for $WHEEL: got $got, expected $WHEEL_SHA256"
    fi
    mv "$TMP_DL/$WHEEL" "$WHEEL_PATH"; rm -rf "$TMP_DL"
    log "downloaded $(du -m "$WHEEL_PATH" | cut -f1) MB in $((SECONDS - T0))s, sha256 ok"
  fi
}

# ---------------------------------------------------------------- extract
extract_deps() {
  step "extract libtensorflow + C headers into ${DEPS_DIR#"$ROOT"/}"
  STAGE="$(mktemp -d "$TFJS_NODE_DIR/deps.staging.XXXXXX")"; chmod 755 "$STAGE"
  cleanup_stage() { rm -rf "$STAGE"; }
  trap cleanup_stage EXIT
  "$PYTHON" - "$WHEEL_PATH" "$STAGE" <<'PY'
import os, shutil, sys, zipfile
wheel, stage = sys.argv[1], sys.argv[2]
libs = {"tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2"}
# Headers reachable from tfjs-node's binding/*.cc (c_api.h, eager/c_api.h,
# ctstring_internal.h and what they include); whole folders for robustness.
hdr_prefix = "tensorflow/include/"
hdr_dirs = ("tensorflow/c/", "tensorflow/core/platform/", "tensorflow/tsl/c/", "tensorflow/tsl/platform/")
n_hdr = 0
with zipfile.ZipFile(wheel) as z:
    names = set(z.namelist())
    missing = libs - names
    if missing:
        sys.exit(f"wheel lacks {sorted(missing)}")
    for name in sorted(names):
        if name in libs:
            dest = os.path.join(stage, "lib", os.path.basename(name))
        elif name.startswith(hdr_prefix) and name.endswith(".h") \
                and name[len(hdr_prefix):].startswith(hdr_dirs):
            dest = os.path.join(stage, "include", name[len(hdr_prefix):])
            n_hdr += 1
        else:
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(name) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        if name in libs:
            os.chmod(dest, 0o755)
print(f"extracted 2 libraries and {n_hdr} headers")
PY
  for h in tensorflow/c/c_api.h tensorflow/c/eager/c_api.h tensorflow/core/platform/ctstring_internal.h; do
    [[ -f "$STAGE/include/$h" ]] || die "header $h missing from the wheel"
  done
  (
    cd "$STAGE/lib"
    # Link-time names for binding.gyp's -ltensorflow -ltensorflow_framework.
    # The addon's DT_NEEDED entries are the SONAMEs (libtensorflow_cc.so.2,
    # libtensorflow_framework.so.2), found at run time via its rpath
    # $ORIGIN/../../deps/lib.
    ln -s libtensorflow_cc.so.2 libtensorflow.so.2
    ln -s libtensorflow.so.2 libtensorflow.so
    ln -s libtensorflow_framework.so.2 libtensorflow_framework.so
    # The file names tfjs-node's scripts/install.js looks for: if it is ever run
    # (npm rebuild, npm install without --ignore-scripts) it then sees the libs
    # as present and keeps them instead of wiping deps/ and calling Google storage.
    ln -s libtensorflow_cc.so.2 libtensorflow.so.2.9.1
    ln -s libtensorflow_framework.so.2 libtensorflow_framework.so.2.9.1
  )
  SYMS_TF="$(nm -D --defined-only "$STAGE/lib/libtensorflow_cc.so.2" 2>/dev/null | grep -c ' T TF_' || true)"
  SYMS_TFE="$(nm -D --defined-only "$STAGE/lib/libtensorflow_cc.so.2" 2>/dev/null | grep -c ' T TFE_' || true)"
  log "libtensorflow_cc.so.2 exports ${SYMS_TF:-?} TF_* and ${SYMS_TFE:-?} TFE_* functions"
  rm -rf "${DEPS_DIR:?}" "${TFJS_NODE_DIR:?}/lib" "${TFJS_NODE_DIR:?}/build" "${TFJS_NODE_DIR:?}"/build-tmp-napi-v*
  mv "$STAGE" "$DEPS_DIR"
  trap - EXIT
  echo "$STAMP_VALUE" > "$DEPS_DIR/$STAMP_NAME"
  log "installed $(du -sm "$DEPS_DIR" | cut -f1) MB into ${DEPS_DIR#"$ROOT"/}"
}

# ---------------------------------------------------------------- patch
# Our fixes to tfjs-node's C++ sources (deploy/native/patches/*.patch, one
# reason each, explained at the top of the change). Applied to the pristine
# sources npm installed; a patch found already applied is skipped, one that
# fits neither way stops the install.
apply_patches() {
  step "patch tfjs-node's binding sources"
  command -v patch >/dev/null || die "'patch' not found: apt-get install -y patch"
  local p name
  for p in "${PATCHES[@]}"; do
    name="$(basename "$p")"
    if patch -p1 -R --dry-run -s -f -d "$TFJS_NODE_DIR" < "$p" >/dev/null 2>&1; then
      log "$name: already applied"
    elif patch -p1 -N -s -f -d "$TFJS_NODE_DIR" < "$p"; then
      log "$name: applied"
    else
      die "$name does not apply to $TFJS_NODE_DIR (tfjs-node $TFJS_NODE_EXPECTED expected); reinstall it with npm ci"
    fi
  done
}

# ---------------------------------------------------------------- build
build_addon() {
  step "build tfjs_binding.node from source (node-pre-gyp + node-gyp, offline)"
  T0=$SECONDS
  BUILD_LOG="$CACHE_DIR/build-addon.log"
  if ! (cd "$TFJS_NODE_DIR" \
        && npm_config_nodedir="$NODEDIR" npm_config_node_gyp="$NODE_GYP_JS" \
           node "$(node -p "require.resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp', {paths: ['$TFJS_NODE_DIR']})")" \
           install --build-from-source) >"$BUILD_LOG" 2>&1; then
    echo "---- first errors:" >&2; grep -m 15 -E 'error|Error' "$BUILD_LOG" >&2 || true
    echo "---- last lines:" >&2; tail -n 15 "$BUILD_LOG" >&2
    die "addon build failed; full log: $BUILD_LOG"
  fi
  [[ -f "$ADDON_PATH" ]] || die "build reported success but $ADDON_PATH is missing; log: $BUILD_LOG"
  rm -rf "${TFJS_NODE_DIR:?}/build" "${TFJS_NODE_DIR:?}"/build-tmp-napi-v*
  log "built ${ADDON_PATH#"$ROOT"/} in $((SECONDS - T0))s (log: ${BUILD_LOG#"$ROOT"/})"
  if unresolved="$(ldd "$ADDON_PATH" | grep 'not found')"; then
    die "addon has unresolved libraries: $unresolved"
  fi
  echo "$PATCHES_SUM" > "$ADDON_STAMP"
}

# ---------------------------------------------------------------- main
if [[ "$NEED_EXTRACT" == 1 ]]; then
  download_wheel
  extract_deps
else
  log "libtensorflow already in ${DEPS_DIR#"$ROOT"/} ($STAMP_VALUE); rebuilding the addon only"
fi
apply_patches
build_addon
verify
log "done in $((SECONDS - T_START))s"
