/**
 * PKL-R01: the studio never deserialises pickle data — no Python loader call anywhere in the product's
 * TypeScript, and the only module that may start processes is the one that runs `doctor`'s version checks
 * (training engines, later, get their own audited launcher). Worker threads run our own code and are fine.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const LOADERS = /\b(pickle\.loads?|torch\.load|joblib\.load|np\.load\([^)]*allow_pickle\s*=\s*True|cPickle|dill\.loads?)\s*\(/;
const PROCESS_APIS = /from ['"]node:child_process['"]|require\(['"]child_process['"]\)|\bprocess\.dlopen\b/;
// core/run-program.ts is the one runner for version checks and probes (argv only, own environment, timer,
// output cap); clamscan.ts runs ClamAV over quarantined downloads. The run shim's two spawners: client.ts
// starts the shim itself (this Node, detached, no inherited environment) and engine-process.ts starts the
// engine inside its sandbox (argv only, the spec's checked environment; test/jobs/shim-*.test.ts).
const PROCESS_ALLOWED = new Set(['src/core/run-program.ts', 'src/hub/clamscan.ts', 'src/jobs/shim/client.ts', 'src/jobs/shim/engine-process.ts']);

async function sources(): Promise<string[]> {
  const entries = await readdir('src', { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && entry.name !== 'testing.ts')
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** Code without comments, so a comment that explains what we never do does not count. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

describe('PKL-R01: nothing unpickles', () => {
  it('no product source calls a pickle loader', async () => {
    const files = await sources();
    expect(files.length).toBeGreaterThan(50);
    const offenders: string[] = [];
    for (const file of files) if (LOADERS.test(code(await readFile(file, 'utf8')))) offenders.push(file);
    expect(offenders).toEqual([]);
  });

  it('only audited modules start processes', async () => {
    const offenders: string[] = [];
    for (const file of await sources()) if (PROCESS_APIS.test(code(await readFile(file, 'utf8'))) && !PROCESS_ALLOWED.has(file)) offenders.push(file);
    expect(offenders).toEqual([]);
  });
});
