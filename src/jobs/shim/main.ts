/**
 * The run shim's process entry: `process.execPath src/jobs/shim/main.ts <runDir>`, started detached by
 * client.ts `startShim`. Everything it does is in run-shim.ts; its stderr goes to `runs/<id>/shim.log`.
 */
import { enableCompileCache } from 'node:module';

const runDir = process.argv[2];
if (runDir === undefined || process.argv.length !== 3) {
  process.stderr.write('usage: main.ts <runDir>\n');
  process.exit(2);
}
// A shim starts for every run, between one queued run's end and the next one's engine: stripping the types of
// its modules and compiling them was most of its start (bench/jobs-queue-gap.bench.ts). Node's compile cache
// keeps the result beside this code, where only whoever can change the code itself can write; if that folder
// is not writable the cache stays off and the shim starts as before.
enableCompileCache(new URL('../../../node_modules/.cache/lorasmith-shim', import.meta.url).pathname);
const { runShim } = await import('./run-shim.ts');
const code = await runShim(runDir);
// Pipes of a leftover engine child (cut, but perhaps not yet closed) must not keep the shim alive.
process.exit(code);
