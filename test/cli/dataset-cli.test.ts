/** `lorasmith dataset …` through the real CLI process on real files. */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pngImage } from '../../src/datasets/images/testing.ts';
import { buildTestZip } from '../../src/formats/zip/testing.ts';
import { makeHome } from '../helpers/studio.ts';

const cli = path.resolve('src/cli/main.ts');
let home: string;
let files: string;

function run(args: string[]) {
  const result = spawnSync(process.execPath, [cli, 'dataset', ...args], { env: { ...process.env, LORASMITH_HOME: home, LORASMITH_LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, json: <T>() => JSON.parse(result.stdout) as T };
}

beforeAll(async () => {
  home = await makeHome();
  files = await makeHome();
  await writeFile(
    path.join(files, 'cats.zip'),
    buildTestZip({ entries: [{ name: 'a.png', data: await pngImage(64, 64, 1) }, { name: 'a.txt', data: 'cat, sofa' }, { name: 'b.png', data: await pngImage(64, 64, 2) }, { name: '__MACOSX/._a.png', data: 'x' }] }),
  );
  await mkdir(path.join(files, 'folder', '5_ohwx cat'), { recursive: true });
  await writeFile(path.join(files, 'folder', '5_ohwx cat', 'c.png'), await pngImage(64, 64, 3));
  await writeFile(path.join(files, 'evil.zip'), buildTestZip({ entries: [{ name: 'a.png', data: await pngImage() }, { name: '../../x.png', data: 'x' }] }));
});

describe('dataset CLI', () => {
  it('imports a zip with a report, and a kohya folder with its repeats and class tokens', () => {
    const zip = run(['import', path.join(files, 'cats.zip')]);
    expect(zip.code).toBe(0);
    expect(zip.stdout).toContain('Dataset cats: 2 images');
    expect(zip.stdout).toContain('__MACOSX/._a.png');
    const folder = run(['import', path.join(files, 'folder'), '--name', 'kohya', '--json']);
    expect(folder.code).toBe(0);
    const summary = JSON.parse(folder.stdout.trim().split('\n').at(-1) ?? '{}') as { task: { result: { report: { subsets: Array<{ name: string; repeats: number; classTokens: string }> } } } };
    expect(summary.task.result.report.subsets).toEqual([expect.objectContaining({ name: '5_ohwx cat', repeats: 5, classTokens: 'ohwx cat' })]);
    expect(run(['list', '--json']).json<{ datasets: Array<{ name: string }> }>().datasets.map((d) => d.name).sort()).toEqual(['cats', 'kohya']);
  });

  it('a traversal zip is refused whole: exit 1, no dataset', () => {
    const result = run(['import', path.join(files, 'evil.zip')]);
    expect(result.code).toBe(1);
    expect(run(['list', '--json']).json<{ datasets: Array<{ name: string }> }>().datasets.map((d) => d.name)).not.toContain('evil');
  });

  it('bulk previews by default, applies with --apply, and undo restores', () => {
    const preview = run(['bulk', 'cats', 'add-trigger', 'ohwx', '--json']).json<{ changes: unknown[] }>();
    expect(preview.changes).toHaveLength(2);
    expect(run(['caption', 'cats', 'main/a.png', '--json']).json<{ text: string }>().text).toBe('cat, sofa');
    expect(run(['bulk', 'cats', 'add-trigger', 'ohwx', '--apply']).code).toBe(0);
    expect(run(['caption', 'cats', 'main/a.png', '--json']).json<{ text: string }>().text).toBe('ohwx, cat, sofa');
    expect(run(['tags', 'cats', '--json']).json<{ tags: Array<{ tag: string }> }>().tags[0]?.tag).toBe('ohwx');
    expect(run(['undo', 'cats']).code).toBe(0);
    expect(run(['caption', 'cats', 'main/a.png', '--json']).json<{ text: string }>().text).toBe('cat, sofa');
    expect(run(['caption', 'cats', 'main/b.png', '--json']).json<{ exists: boolean }>().exists).toBe(false);
  });

  it('lint exits 1 on errors-level findings only; steps follows kohya', () => {
    const lint = run(['lint', 'cats', '--resolution', '512', '--json']);
    const report = JSON.parse(lint.stdout) as { findings: Array<{ code: string; severity: string }> };
    expect(report.findings.map((f) => f.code)).toContain('image-below-resolution');
    expect(lint.code).toBe(report.findings.some((f) => f.severity === 'error') ? 1 : 0);
    const steps = run(['steps', 'kohya', '--resolution', '512', '--epochs', '3', '--no-upscale', '--json']).json<{ steps: { stepsPerEpoch: number; maxTrainSteps: number } }>();
    expect(steps.steps).toMatchObject({ stepsPerEpoch: 5, maxTrainSteps: 15 });
  });

  it('imports captions from a CSV list', async () => {
    const list = path.join(files, 'captions.csv');
    await writeFile(list, 'file,caption\nb.png,"a cat, on a rug"\n');
    const result = run(['captions-import', 'cats', list, '--subset', 'main', '--json']);
    expect(result.code).toBe(0);
    expect(run(['caption', 'cats', 'main/b.png', '--json']).json<{ text: string }>().text).toBe('a cat, on a rug');
  });

  it('rename and rm; usage errors exit 2', () => {
    expect(run(['rename', 'kohya', 'cats2']).code).toBe(0);
    expect(run(['rm', 'cats2']).code).toBe(0);
    expect(run(['frob']).code).toBe(2);
    expect(run(['lint', 'cats']).code).toBe(2);
  });
});
