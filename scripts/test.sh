#!/usr/bin/env bash
# The whole test suite from a fresh clone: Debian packages, npm dependencies, web build, typecheck,
# then every test (unit, HTTP, CLI, browser).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/install.sh
export PATH="$PWD/node_modules/.bin:$PATH"
echo "node $(node --version)"
tsc --noEmit -p tsconfig.json
tsc --noEmit -p web/tsconfig.json
mkdir -p .tmp
status=0
vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json "$@" || status=$?
# A plain closing line that any CI reader understands.
node -e '
  const r = JSON.parse(require("fs").readFileSync(".tmp/vitest.json", "utf8"));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' || true
exit $status
