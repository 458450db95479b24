/** scan / inspect / convert / models through the real CLI process. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { maliciousPickle, sd1LoraSafetensors } from '../helpers/model-files.ts';
import { makeHome } from '../helpers/studio.ts';

const cli = path.resolve('src/cli/main.ts');
let home: string;
let files: string;

function run(args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, LORASMITH_HOME: home, LORASMITH_LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  home = await makeHome();
  files = path.join(await makeHome(), 'downloads');
  await mkdir(path.join(files, 'nested'), { recursive: true });
  await writeFile(path.join(files, 'lora.safetensors'), sd1LoraSafetensors());
  await writeFile(path.join(files, 'nested', 'evil.ckpt'), maliciousPickle());
  await symlink('/etc', path.join(files, 'nested', 'etc-link'));
});

describe('scan', () => {
  it('walks folders, gives a verdict per file, does not follow symlinks, exits 1 when anything is refused', () => {
    const result = run(['scan', files, '--json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { results: Array<{ path: string; verdict: string; findings: Array<{ label?: string }> }>; safe: number; refused: number };
    expect(report.results.map((r) => [path.basename(r.path), r.verdict])).toEqual([
      ['lora.safetensors', 'safe'],
      ['evil.ckpt', 'unsafe'],
    ]);
    expect(report.results[1]?.findings[0]?.label).toBe('posix.system');
    expect(run(['scan', path.join(files, 'lora.safetensors')]).code).toBe(0);
  });
});

describe('scan of a diffusers folder', () => {
  it('is recognised by content: weight files scanned (a pickle .bin too), configs left alone', async () => {
    const pipeline = path.join(files, 'sd-pipeline');
    await mkdir(path.join(pipeline, 'unet'), { recursive: true });
    await mkdir(path.join(pipeline, 'text_encoder'), { recursive: true });
    await writeFile(path.join(pipeline, 'model_index.json'), JSON.stringify({ _class_name: 'StableDiffusionPipeline', _diffusers_version: '0.32.1', unet: ['diffusers', 'UNet2DConditionModel'], text_encoder: ['transformers', 'CLIPTextModel'] }));
    await writeFile(path.join(pipeline, 'unet', 'config.json'), '{}');
    await writeFile(path.join(pipeline, 'unet', 'diffusion_pytorch_model.safetensors'), sd1LoraSafetensors());
    await writeFile(path.join(pipeline, 'text_encoder', 'config.json'), '{}');
    await writeFile(path.join(pipeline, 'text_encoder', 'pytorch_model.bin'), maliciousPickle());
    const result = run(['scan', pipeline, '--json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { folders: Array<{ type: string; className: string }>; results: Array<{ path: string; verdict: string }> };
    expect(report.folders).toEqual([expect.objectContaining({ type: 'diffusers', className: 'StableDiffusionPipeline', components: 2 })]);
    expect(report.results.map((r) => [path.relative(pipeline, r.path), r.verdict]).sort()).toEqual([
      ['text_encoder/pytorch_model.bin', 'unsafe'],
      ['unet/diffusion_pytorch_model.safetensors', 'safe'],
    ]);
    await writeFile(path.join(pipeline, 'text_encoder', 'pytorch_model.bin'), sd1LoraSafetensors());
    expect(run(['scan', pipeline]).code).toBe(0);
  });
});

describe('inspect', () => {
  it('describes a LoRA from its header; hashes only with --hash or from the library', () => {
    const plain = JSON.parse(run(['inspect', path.join(files, 'lora.safetensors'), '--json']).stdout) as Record<string, unknown>;
    expect(plain).toMatchObject({ format: 'safetensors', verdict: 'safe', kind: 'lora', family: 'sd1', tensorCount: 12, hashes: null, lora: { rank: 4, alpha: 2 } });
    expect((plain.metadata as Record<string, string>).ss_network_dim).toBe('4');
    const hashed = JSON.parse(run(['inspect', path.join(files, 'lora.safetensors'), '--hash', '--json']).stdout) as { hashes: { sha256: string } };
    expect(hashed.hashes.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses to describe an unsafe file (exit 1, the reason)', () => {
    const result = run(['inspect', path.join(files, 'nested', 'evil.ckpt'), '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).error).toMatchObject({ code: 'unsafe', message: expect.stringContaining('posix.system') });
  });
});

describe('convert', () => {
  it('converts a real torch checkpoint, refuses an unsafe one and an existing output', async () => {
    const out = path.join(files, 'converted.safetensors');
    const ok = run(['convert', path.resolve('test/fixtures/torch/state-dict.pt'), out, '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ tensorCount: 18 });
    expect((await readFile(out)).length).toBeGreaterThan(0);
    expect(run(['convert', path.resolve('test/fixtures/torch/state-dict.pt'), out]).code).toBe(2);
    const refused = run(['convert', path.join(files, 'nested', 'evil.ckpt'), path.join(files, 'evil.safetensors'), '--json']);
    expect(refused.code).toBe(1);
    expect(existsSync(path.join(files, 'evil.safetensors'))).toBe(false);
    const raw = run(['convert', path.resolve('test/fixtures/torch/dict-p0.pkl'), path.join(files, 'raw.safetensors'), '--json']);
    expect(raw.code).toBe(1);
    expect(JSON.parse(raw.stdout).error.message).toContain('nothing to convert');
  });
});

describe('models', () => {
  it('import → list → show → rm, with JSON Lines progress and the record in the summary', () => {
    const imported = run(['models', 'import', path.join(files, 'lora.safetensors'), '--json']);
    expect(imported.code).toBe(0);
    const lines = imported.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; task?: { result: { model: { id: string; kind: string } } } });
    const model = lines.at(-1)?.task?.result.model;
    expect(model?.kind).toBe('lora');
    expect(JSON.parse(run(['models', 'list', '--json']).stdout).models).toHaveLength(1);
    expect(JSON.parse(run(['models', 'show', model?.id ?? '', '--json']).stdout)).toMatchObject({ id: model?.id, family: 'sd1' });
    // A file in the library: inspect shows the recorded hashes without --hash.
    const stored = readdirSync(path.join(home, 'models'), { recursive: true, withFileTypes: true }).find((e) => e.isFile());
    const inLibrary = JSON.parse(run(['inspect', path.join(stored?.parentPath ?? '', stored?.name ?? ''), '--json']).stdout) as { hashes: { sha256: string } | null };
    expect(inLibrary.hashes?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(run(['models', 'rm', model?.id ?? '']).code).toBe(0);
    expect(JSON.parse(run(['models', 'list', '--json']).stdout).models).toEqual([]);
  });

  it('an unsafe import exits 1 and leaves models/ and quarantine/ empty', async () => {
    const result = run(['models', 'import', path.join(files, 'nested', 'evil.ckpt')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('unsafe');
    const { readdir } = await import('node:fs/promises');
    const left = (await readdir(home, { recursive: true, withFileTypes: true })).filter((e) => e.isFile() && /models|quarantine/.test(e.parentPath));
    expect(left).toEqual([]);
  });

  it('--kind mismatch and a bad --kind are refused', () => {
    expect(run(['models', 'import', path.join(files, 'lora.safetensors'), '--kind', 'vae']).code).toBe(1);
    expect(run(['models', 'import', path.join(files, 'lora.safetensors'), '--kind', 'banana']).code).toBe(2);
    expect(readdirSync(path.join(home, 'quarantine'), { recursive: true }).filter((name) => String(name).includes('.safetensors'))).toEqual([]);
  });
});
