/**
 * Library entries with several files (DESIGN.md §3): `models import FOLDER` makes one entry of a diffusers
 * pipeline; `models list|show` show its files; removal takes only the entry's own files; an entry recorded
 * before migration 4 (a tagger's two files) still lists and removes both. Real SQLite, real files.
 */
import BetterSqlite3 from 'better-sqlite3';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelsVerb } from '../../src/cli/verbs/models.ts';
import { MIGRATIONS, migrate } from '../../src/core/db/migrations.ts';
import { openDatabase } from '../../src/core/db/open-database.ts';
import { openWorkspace } from '../../src/core/workspace.ts';
import { ModelLibrary } from '../../src/library/model-library.ts';
import type { ModelRecord } from '../../src/library/model-record.ts';
import type { Studio } from '../../src/studio/studio.ts';
import { maliciousPickle } from '../helpers/model-files.ts';
import { makeHome } from '../helpers/studio.ts';
import { captureIO, filesUnder, openTestStudio } from '../hub/pull-harness.ts';
import { sd15Pipeline } from '../hub/model-sets.ts';

let studio: Studio;

beforeAll(async () => {
  studio = await openTestStudio();
});
afterAll(async () => studio.close());

async function writeTree(root: string, files: Array<{ path: string; content: Buffer }>): Promise<void> {
  for (const file of files) {
    await mkdir(path.dirname(path.join(root, file.path)), { recursive: true });
    await writeFile(path.join(root, file.path), file.content);
  }
}

describe('models import FOLDER', () => {
  it('a diffusers folder becomes one checkpoint entry; dot-folders stay out; list and show name its files', async () => {
    const source = path.join(await makeHome(), 'my-sd15');
    await writeTree(source, sd15Pipeline());
    await writeTree(source, [{ path: '.git/objects/aa/bb', content: Buffer.from('git object') }]);
    const verb = createModelsVerb();
    const home = studio.workspace.paths.home;
    const imported = captureIO(home);
    expect(await verb.run(['import', source, '--json'], imported.io)).toBe(0);
    const { result } = JSON.parse(imported.out()) as { result: { model: ModelRecord; duplicate: boolean } };
    expect(result.duplicate).toBe(false);
    expect(result.model).toMatchObject({ name: 'my-sd15', kind: 'checkpoint', family: 'sd1', predictionType: 'epsilon', source: { type: 'local' } });
    expect(result.model.files).toHaveLength(11);
    expect(result.model.files.some((file) => file.path.startsWith('.git'))).toBe(false);
    const stored = await filesUnder(studio.workspace.paths.areas.models);
    expect(stored).toHaveLength(11);
    expect(stored.every((file) => file.startsWith(path.join('checkpoint', 'local', result.model.hashes.sha256.slice(0, 12), '-') + path.sep))).toBe(true);
    // The staging copy is gone.
    expect(await readdir(path.join(studio.workspace.paths.areas.quarantine, 'imports'))).toEqual([]);

    const listed = captureIO(home);
    await verb.run(['list'], listed.io);
    expect(listed.out()).toMatch(/checkpoint\s+sd1\s+my-sd15 .* 11 files/);
    const shown = captureIO(home);
    await verb.run(['show', result.model.id], shown.io);
    expect(shown.out()).toContain('files (11):');
    expect(shown.out()).toMatch(/unet\/diffusion_pytorch_model\.safetensors .*\(main\)/);
    expect(shown.out()).toContain('tokenizer/merges.txt');

    const again = captureIO(home);
    await verb.run(['import', source, '--json'], again.io);
    expect(JSON.parse(again.out())).toMatchObject({ result: { duplicate: true, model: { id: result.model.id } } });
    await studio.library.remove(result.model.id);
    expect(await filesUnder(studio.workspace.paths.areas.models)).toEqual([]);
  });

  it('one unsafe weight file refuses the folder: exit 1, nothing in models/, nothing left in quarantine', async () => {
    const source = path.join(await makeHome(), 'bad-sd15');
    await writeTree(source, sd15Pipeline({ unetBin: Buffer.from(maliciousPickle()) }));
    const refused = captureIO(studio.workspace.paths.home);
    await expect(createModelsVerb().run(['import', source, '--json'], refused.io)).rejects.toMatchObject({ code: 'unsafe', exitCode: 1 });
    expect(await filesUnder(studio.workspace.paths.areas.models)).toEqual([]);
    expect(await readdir(path.join(studio.workspace.paths.areas.quarantine, 'imports'))).toEqual([]);
  });
});

describe('entries recorded before migration 4', () => {
  it('a tagger row gets both its files listed, and removal takes both', async () => {
    const home = await makeHome();
    const workspace = await openWorkspace({ home });
    const raw = new BetterSqlite3(workspace.paths.db);
    migrate(raw, MIGRATIONS.filter((migration) => migration.version <= 3));
    const folder = 'tagger/local/abcdefabcdef/-';
    const insert = raw.prepare(
      `INSERT INTO models (id, name, kind, family, variant, prediction_type, format, size, sha256, autov2, autov1, sshs_model_hash, rel_path, source, lora, evidence, warnings, tensor_count, parameter_count, created_at)
       VALUES (?, ?, ?, 'unknown', NULL, 'unknown', ?, ?, ?, 'ABCDEF0123', NULL, NULL, ?, '{"type":"local","converted":null}', NULL, '[]', '[]', 0, 0, '2026-01-01T00:00:00.000Z')`,
    );
    insert.run('t1', 'wd', 'tagger', 'onnx', 4, 'a'.repeat(64), `${folder}/model.onnx`);
    insert.run('l1', 'x.safetensors', 'lora', 'safetensors', 8, 'b'.repeat(64), 'lora/local/bbbbbbbbbbbb/-/x.safetensors');
    raw.close();
    await writeTree(workspace.paths.areas.models, [
      { path: `${folder}/model.onnx`, content: Buffer.from('onnx') },
      { path: `${folder}/selected_tags.csv`, content: Buffer.from('tag_id,name,category,count\n') },
      { path: 'lora/local/bbbbbbbbbbbb/-/x.safetensors', content: Buffer.alloc(8) },
    ]);
    const database = openDatabase(workspace.paths.db);
    try {
      const library = new ModelLibrary({ db: database.db, workspace });
      expect((await library.get('t1')).files).toEqual([
        { path: 'model.onnx', size: 4, sha256: 'a'.repeat(64), main: true },
        { path: 'selected_tags.csv', size: null, sha256: null, main: false },
      ]);
      expect((await library.get('l1')).files).toEqual([{ path: 'x.safetensors', size: 8, sha256: 'b'.repeat(64), main: true }]);
      expect((await library.get('t1')).civitai).toBeNull();
      await library.remove('t1');
      expect(await filesUnder(workspace.paths.areas.models)).toEqual([path.join('lora', 'local', 'bbbbbbbbbbbb', '-', 'x.safetensors')]);
    } finally {
      await database.close();
    }
  });
});
