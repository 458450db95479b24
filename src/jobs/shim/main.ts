/**
 * The run shim's process entry: `process.execPath src/jobs/shim/main.ts <runDir>`, started detached by
 * client.ts `startShim`. Everything it does is in run-shim.ts; its stderr goes to `runs/<id>/shim.log`.
 */
import { enableLorasmithCompileCache } from '../../core/compile-cache.ts';

const runDir = process.argv[2];
if (runDir === undefined || process.argv.length !== 3) {
  process.stderr.write('usage: main.ts <runDir>\n');
  process.exit(2);
}
// A shim starts for every run, between one queued run's end and the next one's engine: its modules come from
// the compile cache (bench/jobs-queue-gap.bench.ts).
enableLorasmithCompileCache();
const { runShim } = await import('./run-shim.ts');
const code = await runShim(runDir);
// Pipes of a leftover engine child (cut, but perhaps not yet closed) must not keep the shim alive.
process.exit(code);
