/** A WD14 tagger folder into the library, then `dataset tag` end to end (real onnxruntime, real images). */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FAKE_TAGS, solidPng, writeFakeTagger } from '../../src/datasets/tagging/testing.ts';
import { maliciousPickle } from '../helpers/model-files.ts';
import { makeHome } from '../helpers/studio.ts';

const cli = path.resolve('src/cli/main.ts');
let home: string;
let files: string;

function run(args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, LORASMITH_HOME: home, LORASMITH_LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  home = await makeHome();
  files = await makeHome();
  await writeFakeTagger({ dir: path.join(files, 'wd-vit-tagger-v3'), tags: FAKE_TAGS });
  await mkdir(path.join(files, 'broken-tagger'), { recursive: true });
  await writeFile(path.join(files, 'broken-tagger', 'model.onnx'), maliciousPickle());
  await writeFile(path.join(files, 'broken-tagger', 'selected_tags.csv'), 'tag_id,name,category,count\n1,general,9,1\n');
  await mkdir(path.join(files, 'photos', '1_ohwx'), { recursive: true });
  await solidPng({ file: path.join(files, 'photos', '1_ohwx', 'red.png'), width: 64, height: 64, rgb: [250, 10, 10] });
  await solidPng({ file: path.join(files, 'photos', '1_ohwx', 'blue.png'), width: 64, height: 64, rgb: [10, 10, 250] });
});

describe('tagging', () => {
  it('imports a tagger folder as one library entry of kind tagger; refuses a fake model.onnx', () => {
    const imported = run(['models', 'import', path.join(files, 'wd-vit-tagger-v3'), '--json']);
    expect(imported.code).toBe(0);
    const { result } = JSON.parse(imported.stdout) as { result: { model: { id: string; kind: string; format: string } } };
    expect(result.model).toMatchObject({ kind: 'tagger', format: 'onnx' });
    const refused = run(['models', 'import', path.join(files, 'broken-tagger'), '--json']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).error.code).toBe('unsafe');
  });

  it('dataset tag writes captions with the trigger first, and is one undoable edit', () => {
    expect(run(['dataset', 'import', path.join(files, 'photos'), '--name', 'colours']).code).toBe(0);
    const tagger = (JSON.parse(run(['models', 'list', '--json']).stdout) as { models: Array<{ id: string; kind: string }> }).models.find((m) => m.kind === 'tagger');
    const tagged = run(['dataset', 'tag', 'colours', '--model', tagger?.id ?? '', '--trigger', 'ohwx', '--json']);
    expect(tagged.code).toBe(0);
    const summary = JSON.parse(tagged.stdout.trim().split('\n').at(-1) ?? '{}') as { task: { result: { tagged: number; changed: number } } };
    expect(summary.task.result).toMatchObject({ tagged: 2, changed: 2 });
    const red = JSON.parse(run(['dataset', 'caption', 'colours', '1_ohwx/red.png', '--json']).stdout) as { tags: string[] };
    expect(red.tags[0]).toBe('ohwx');
    expect(red.tags).toContain('red theme');
    expect(red.tags).not.toContain('blue theme');
    expect(run(['dataset', 'undo', 'colours']).code).toBe(0);
    expect((JSON.parse(run(['dataset', 'caption', 'colours', '1_ohwx/red.png', '--json']).stdout) as { exists: boolean }).exists).toBe(false);
    const notTagger = run(['dataset', 'tag', 'colours', '--model', 'nope', '--json']);
    expect(notTagger.code).toBe(2);
  });
});
