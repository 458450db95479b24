#!/usr/bin/env bash
# One command from a fresh clone to a running studio: install, build the web UI, `lorasmith serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec node_modules/.bin/node src/cli/main.ts serve "$@"
