/** docs/run-config.md is generated from the run-config schema (bin/render-docs.ts) and must never go stale. */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RUN_CONFIG_DOC, renderRunConfigDoc } from '../../bin/render-docs.ts';
import { renderSchemaReference } from '../../src/training/schema/render-schema-reference.ts';

const script = path.resolve('bin/render-docs.ts');

describe('docs/run-config.md', () => {
  it('is exactly a fresh render of the schema (run `npm run docs` after changing the schema)', async () => {
    expect(RUN_CONFIG_DOC).toBe(path.resolve('docs/run-config.md'));
    expect(renderRunConfigDoc().trimEnd()).toBe(renderSchemaReference().trimEnd());
    expect(await readFile(RUN_CONFIG_DOC, 'utf8')).toBe(renderRunConfigDoc());
  });

  it('bin/render-docs.ts --check passes on the committed page and fails on a stale one; without --check it rewrites it', async () => {
    expect(spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' }).status).toBe(0);
    const dir = await mkdtemp(path.join(tmpdir(), 'lorasmith-docs-'));
    try {
      const stale = path.join(dir, 'run-config.md');
      await writeFile(stale, renderRunConfigDoc().replace('| `network.dim` |', '| `network.rank` |'));
      const checked = spawnSync(process.execPath, [script, '--check', stale], { encoding: 'utf8' });
      expect(checked.status).toBe(1);
      expect(checked.stderr).toContain('out of date with the run-config schema; run `npm run docs`');
      expect(spawnSync(process.execPath, [script, stale], { encoding: 'utf8' }).status).toBe(0);
      expect(await readFile(stale, 'utf8')).toBe(renderRunConfigDoc());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
