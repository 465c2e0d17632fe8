# Sourced by the scripts of deploy/native that build a Node addon offline: checks
# make and g++, finds the Node headers (node-gyp would download them from
# nodejs.org, which is unreachable) and npm's node-gyp, and sets NODEDIR and
# NODE_GYP_JS. Needs the caller's ROOT (the repository), die and log.
for tool in make g++; do
  command -v "$tool" >/dev/null || die "'$tool' not found: install build-essential (apt-get install -y build-essential)"
done
NODEDIR="${npm_config_nodedir:-}"
if [[ -n "$NODEDIR" && ! -f "$NODEDIR/include/node/node_api.h" ]]; then
  die "npm_config_nodedir=$NODEDIR has no include/node/node_api.h"
fi
if [[ -z "$NODEDIR" ]]; then
  for cand in "$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")" /usr /usr/local \
              "$HOME/.cache/node-gyp/$(node -p 'process.versions.node')"; do
    if [[ -f "$cand/include/node/node_api.h" && -f "$cand/include/node/common.gypi" ]]; then
      NODEDIR="$cand"; break
    fi
  done
fi
[[ -n "$NODEDIR" && -f "$NODEDIR/include/node/node_api.h" ]] \
  || die "Node headers not found (looked for include/node/node_api.h under the node prefix, /usr, /usr/local, ~/.cache/node-gyp). node-gyp would try nodejs.org, which is unreachable. Install the headers (NodeSource 'nodejs' deb ships them; Debian: 'libnode-dev') or set npm_config_nodedir."
NODE_GYP_JS=""
for cand in "$(npm root -g 2>/dev/null)/npm/node_modules/node-gyp/bin/node-gyp.js" \
            "$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js" \
            "$ROOT/node_modules/node-gyp/bin/node-gyp.js"; do
  if [[ -f "$cand" ]]; then NODE_GYP_JS="$cand"; break; fi
done
[[ -n "$NODE_GYP_JS" ]] || die "node-gyp not found (it ships with npm: \$(npm root -g)/npm/node_modules/node-gyp)"
log "node headers: $NODEDIR/include/node; node-gyp: $NODE_GYP_JS"
