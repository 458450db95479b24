/**
 * The run shim's process entry: `process.execPath src/jobs/shim/main.ts <runDir>`, started detached by
 * client.ts `startShim`. Everything it does is in run-shim.ts; its stderr goes to `runs/<id>/shim.log`.
 */
import { runShim } from './run-shim.ts';

const runDir = process.argv[2];
if (runDir === undefined || process.argv.length !== 3) {
  process.stderr.write('usage: main.ts <runDir>\n');
  process.exit(2);
}
const code = await runShim(runDir);
// Pipes of a leftover engine child (cut, but perhaps not yet closed) must not keep the shim alive.
process.exit(code);
