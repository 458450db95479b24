/**
 * Multi-file pulls enter the library as ONE entry (DESIGN.md §3, hub-downloads.md "multi-file pulls"):
 * each file verified on its own, then the set stored in `models/<kind>/hf/<owner>--<name>/<commit>/…`
 * with its relative paths; a diffusers pipeline, a tagger and sharded weights are recognised by content.
 * A refused or cancelled file leaves nothing in models/. Real HTTPS double, real SQLite, real files.
 */
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectDiffusersFolder } from '../../src/formats/diffusers.ts';
import { loadTagger, MODEL_FILE, TAGS_FILE } from '../../src/datasets/tagging/load-tagger.ts';
import { confirmPending } from '../../src/hub/pull.ts';
import type { Studio } from '../../src/studio/studio.ts';
import { gitBlobSha1Hex, serveBytes, sha256Hex, testBytes } from '../doubles/hub/behaviours.ts';
import { commitId, installHfRepo } from '../doubles/hub/hf-protocol.ts';
import type { HubDouble } from '../doubles/hub/hub-double.ts';
import { maliciousPickle, sd1LoraVariant } from '../helpers/model-files.ts';
import { expectNothingStored, filesUnder, harness, hubTestContext, modelFiles } from './pull-harness.ts';
import { fluxPipeline, sd15Pipeline, shardedTextEncoder, taggerRepo, torchStateDict } from './model-sets.ts';

const C1 = commitId('multi-c1');
let d: HubDouble;
let studio: Studio;

hubTestContext((started) => ({ d, studio } = started));

describe('a diffusers pipeline pulled whole', () => {
  it('is one checkpoint entry: every file verified on its own, stored under <commit>/ with its relative path; family and prediction from the folder', async () => {
    const files = sd15Pipeline({ unetBin: torchStateDict() });
    installHfRepo(d, { repo: 'org/sd15', refs: { main: C1 }, commits: { [C1]: files } });
    const { result, states } = await harness(studio, d).pull('hf:org/sd15:');
    // Downloaded and verified file by file, then scanned (the VAE's .bin converted) and stored once.
    expect(states.slice(0, 2)).toEqual(['fetching', 'verifying']);
    expect(states.slice(-3)).toEqual(['scanning', 'converting', 'stored']);
    // Each file checked against its own listed digest: LFS by SHA-256, plain git files by blob SHA-1.
    expect(result.files).toHaveLength(files.length);
    for (const file of result.files) expect(file.verifiedBy, file.from).toEqual([files.find((f) => f.path === file.from)?.lfs === false ? 'git-sha1' : 'sha256']);

    expect(result.models).toHaveLength(1);
    const [model] = await studio.library.list();
    expect(model).toMatchObject({ id: result.models[0]?.id, name: 'sd15', kind: 'checkpoint', family: 'sd1', predictionType: 'epsilon', format: 'safetensors', source: { type: 'hf' } });
    expect(model?.source.provenance).toMatchObject({ repo: 'org/sd15', commit: C1, path: '', pull: 'hf:org/sd15:', files: files.length, verified: true, verifiedBy: 'sha256+git-sha1' });
    expect(model?.evidence.join('\n')).toMatch(/StableDiffusionPipeline/);
    expect(model?.evidence.join('\n')).toMatch(/cross_attention_dim 768 → sd1/);
    // The .bin beside its safetensors twin is dropped; the VAE's only .bin is converted in place.
    expect(model?.files.map((file) => file.path)).toEqual([
      'unet/diffusion_pytorch_model.safetensors',
      'README.md',
      'model_index.json',
      'scheduler/scheduler_config.json',
      'text_encoder/config.json',
      'text_encoder/model.safetensors',
      'tokenizer/merges.txt',
      'tokenizer/vocab.json',
      'unet/config.json',
      'vae/config.json',
      'vae/diffusion_pytorch_model.safetensors',
    ]);
    expect(model?.files.filter((file) => file.main).map((file) => file.path)).toEqual(['unet/diffusion_pytorch_model.safetensors']);
    const unet = files.find((file) => file.path === 'unet/diffusion_pytorch_model.safetensors');
    expect(model?.hashes.sha256).toBe(sha256Hex(unet?.content ?? Buffer.alloc(0)));
    const readme = files.find((file) => file.path === 'README.md')?.content ?? Buffer.alloc(0);
    expect(model?.files.find((file) => file.path === 'README.md')).toEqual({ path: 'README.md', size: readme.length, sha256: sha256Hex(readme), main: false });
    expect(model?.size).toBe(model?.files.reduce((sum, file) => sum + (file.size ?? 0), 0));

    const root = path.join('checkpoint', 'hf', 'org--sd15', C1);
    expect(await modelFiles(studio)).toEqual((model?.files ?? []).map((file) => path.join(root, ...file.path.split('/'))).sort());
    const folder = await studio.library.folderOf(model?.id ?? '');
    expect(folder).toBe(path.join(await realpath(studio.workspace.paths.areas.models), root));
    expect(await studio.library.fileOf(model?.id ?? '')).toBe(path.join(folder, 'unet', 'diffusion_pytorch_model.safetensors'));
    // What is stored is still a diffusers pipeline a loader can open.
    const inspection = await inspectDiffusersFolder({ dir: folder });
    expect(inspection.ok && inspection.pipeline.components.map((c) => c.name).sort()).toEqual(['scheduler', 'text_encoder', 'tokenizer', 'unet', 'vae']);
    expect(await readFile(path.join(folder, 'tokenizer', 'merges.txt'), 'utf8')).toContain('th e</w>');
    expect(await filesUnder(path.join(studio.workspace.paths.areas.quarantine, 'downloads'))).toEqual([]);

    // Removing the entry removes every file and the folders it leaves empty.
    await studio.library.remove(model?.id ?? '');
    expect(await filesUnder(studio.workspace.paths.areas.models)).toEqual([]);
    await expect(readFile(path.join(folder, 'model_index.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a FLUX pipeline: the transformer shards fingerprinted together say flux1-dev', async () => {
    installHfRepo(d, { repo: 'org/flux', refs: { main: C1 }, commits: { [C1]: fluxPipeline() } });
    const { result } = await harness(studio, d).pull('hf:org/flux:');
    expect(result.models[0]).toMatchObject({ kind: 'checkpoint', family: 'flux1', variant: 'flux1-dev', predictionType: 'unknown' });
    expect(result.models[0]?.files.find((file) => file.main)?.path).toBe('transformer/diffusion_pytorch_model-00001-of-00002.safetensors');
    expect(result.models[0]?.files).toHaveLength(6);
  });

  it('--kind is a check on the whole entry: a mismatch stores nothing', async () => {
    installHfRepo(d, { repo: 'org/sd15', refs: { main: C1 }, commits: { [C1]: sd15Pipeline() } });
    const { error } = await harness(studio, d).fail({ source: 'hf:org/sd15:', kind: 'lora' });
    expect(error.code).toBe('kind-mismatch');
    await expectNothingStored(studio);
  });
});

describe('other multi-file models', () => {
  it('a WD14 tagger is one tagger entry, laid out as `models import` of a tagger folder lays it out', async () => {
    installHfRepo(d, { repo: 'SmilingWolf/wd-test-tagger', refs: { main: C1 }, commits: { [C1]: taggerRepo() } });
    const { result } = await harness(studio, d).pull({ source: 'hf:SmilingWolf/wd-test-tagger:', include: ['model.onnx', '*.csv'] });
    const model = result.models[0];
    expect(model).toMatchObject({ name: 'wd-test-tagger', kind: 'tagger', format: 'onnx', family: 'unknown' });
    expect(model?.files.map((file) => [file.path, file.main])).toEqual([
      [MODEL_FILE, true],
      [TAGS_FILE, false],
    ]);
    expect(await modelFiles(studio)).toEqual([path.join('tagger', 'hf', 'SmilingWolf--wd-test-tagger', C1, MODEL_FILE), path.join('tagger', 'hf', 'SmilingWolf--wd-test-tagger', C1, TAGS_FILE)]);
    // The dataset tagger opens it from the entry's folder, as it does an imported tagger.
    const folder = await studio.library.folderOf(model?.id ?? '');
    const tagger = await loadTagger({ modelPath: path.join(folder, MODEL_FILE), tagsCsvPath: path.join(folder, TAGS_FILE), threads: 1 });
    expect(tagger.size).toBe(32);
    await tagger.session.release();
  });

  it('sharded weights: one entry, fingerprinted over every shard (the keys sit in the smaller one)', async () => {
    const files = shardedTextEncoder();
    installHfRepo(d, { repo: 'org/te', refs: { main: C1 }, commits: { [C1]: files } });
    const { result } = await harness(studio, d).pull('hf:org/te:');
    expect(result.models[0]).toMatchObject({ kind: 'text-encoder', name: 'te' });
    expect(result.models[0]?.files.map((file) => file.path)).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
    expect(await modelFiles(studio)).toHaveLength(3);
  });

  it('a subfolder with --include: one entry named after repo and folder, files relative to the folder', async () => {
    const a = sd1LoraVariant('ma');
    const b = sd1LoraVariant('mb-bigger-metadata-to-win-the-size-tie');
    installHfRepo(d, {
      repo: 'org/m',
      refs: { main: C1 },
      commits: { [C1]: [{ path: 'set/a.safetensors', content: a }, { path: 'set/sub/b.safetensors', content: b, lfs: false }, { path: 'set/README.md', content: Buffer.from('# hi') }] },
    });
    const { result } = await harness(studio, d).pull({ source: 'hf:org/m:set/', include: ['*.safetensors'] });
    expect(result.files.map((f) => [f.from, f.verifiedBy])).toEqual([
      ['set/a.safetensors', ['sha256']],
      ['set/sub/b.safetensors', ['git-sha1']],
    ]);
    expect(result.models).toHaveLength(1);
    expect(result.models[0]).toMatchObject({ name: 'm-set', kind: 'lora', family: 'sd1' });
    expect(result.models[0]?.source.provenance).toMatchObject({ path: 'set/', include: '*.safetensors', files: 2, verifiedBy: 'sha256+git-sha1' });
    expect(result.models[0]?.files.find((file) => file.main)?.path).toBe('sub/b.safetensors');
    expect(result.models[0]?.files.find((file) => file.path === 'sub/b.safetensors')?.sha256).toBe(sha256Hex(b));
    expect(gitBlobSha1Hex(b)).toMatch(/^[0-9a-f]{40}$/);
    expect(await modelFiles(studio)).toEqual([path.join('lora', 'hf', 'org--m', C1, 'a.safetensors'), path.join('lora', 'hf', 'org--m', C1, 'sub', 'b.safetensors')]);
  });

  it('a file without a listed digest holds the whole set in awaiting-confirmation; confirmed, it is one entry marked unverified', async () => {
    const weights = sd1LoraVariant('pending');
    installHfRepo(d, {
      repo: 'org/p',
      refs: { main: C1 },
      commits: { [C1]: [{ path: 'w.safetensors', content: weights }, { path: 'config.json', content: Buffer.from('{"rank":4}'), lfs: false, listedOid: 'not-a-blob-id' }] },
    });
    const h = harness(studio, d);
    const { result, taskId } = await h.pull('hf:org/p:');
    expect(result.state).toBe('awaiting-confirmation');
    expect(await modelFiles(studio)).toEqual([]);
    const confirmed = await confirmPending({ deps: h.deps, taskId, signal: new AbortController().signal, report: { detail: () => undefined, progress: () => undefined } });
    expect(confirmed.models).toHaveLength(1);
    expect(confirmed.models[0]?.files.map((file) => file.path)).toEqual(['w.safetensors', 'config.json']);
    expect(confirmed.models[0]?.source.provenance).toMatchObject({ files: 2, verified: false, unverified: true, confirmedBy: 'user' });
    expect(await modelFiles(studio)).toEqual([path.join('lora', 'hf', 'org--p', C1, 'config.json'), path.join('lora', 'hf', 'org--p', C1, 'w.safetensors')]);
    expect(await filesUnder(path.join(studio.workspace.paths.areas.quarantine, 'downloads'))).toEqual([]);
  });

  it('a folder of nothing but companions is refused: no model file', async () => {
    installHfRepo(d, { repo: 'org/docs', refs: { main: C1 }, commits: { [C1]: [{ path: 'a.md', content: Buffer.from('# a'), lfs: false }, { path: 'b.json', content: Buffer.from('{}'), lfs: false }] } });
    const { error } = await harness(studio, d).fail('hf:org/docs:');
    expect(error.code).toBe('unsupported');
    await expectNothingStored(studio);
  });
});

describe('one bad file refuses the whole set; nothing reaches models/', () => {
  it('a malicious pickle among the weights → unsafe', async () => {
    installHfRepo(d, { repo: 'org/sd15', refs: { main: C1 }, commits: { [C1]: sd15Pipeline({ unetBin: Buffer.from(maliciousPickle()) }) } });
    const { error } = await harness(studio, d).fail('hf:org/sd15:');
    expect(error.code).toBe('unsafe');
    expect(error.message).toContain('unet/diffusion_pytorch_model.bin');
    await expectNothingStored(studio);
    expect(await studio.library.list()).toEqual([]);
  });

  it('a fake model.onnx in a tagger folder → unsafe, whatever its name says', async () => {
    installHfRepo(d, { repo: 'org/t', refs: { main: C1 }, commits: { [C1]: [{ path: 'model.onnx', content: Buffer.from(maliciousPickle()) }, ...taggerRepo().slice(1)] } });
    const { error } = await harness(studio, d).fail('hf:org/t:');
    expect(error.code).toBe('unsafe');
    await expectNothingStored(studio);
  });

  it('the last file fails its digest (HF-A07) → integrity; the files already verified are gone too', async () => {
    const good = sd1LoraVariant('ok1');
    const listed = sd1LoraVariant('ok2');
    installHfRepo(d, {
      repo: 'org/m',
      refs: { main: C1 },
      commits: { [C1]: [{ path: 'a.safetensors', content: good }, { path: 'z.safetensors', content: listed, serve: serveBytes(Buffer.from(listed).fill(7, 200, 260)) }] },
    });
    const { error } = await harness(studio, d).fail('hf:org/m:');
    expect(error.code).toBe('integrity');
    await expectNothingStored(studio);
  });

  it('cancel while the second file downloads leaves nothing', async () => {
    const slow = testBytes(400_000, 5);
    slow.writeBigUInt64LE(8n, 0);
    installHfRepo(d, {
      repo: 'org/m',
      refs: { main: C1 },
      commits: { [C1]: [{ path: 'a.safetensors', content: sd1LoraVariant('first') }, { path: 'b.safetensors', content: slow, serve: serveBytes(slow, { dripChunk: 4096, dripIntervalMs: 10 }) }] },
    });
    const controller = new AbortController();
    const pulling = harness(studio, d).pull('hf:org/m:', { signal: controller.signal });
    for (let i = 0; i < 200 && d.requestsTo('cdn.test').length < 2; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    await expect(pulling).rejects.toMatchObject({ code: 'cancelled' });
    await expectNothingStored(studio);
  });
});

describe('entries that share a commit folder', () => {
  it('two files of one commit with the same name are both kept, a folder pull lands beside them, and removing one entry leaves the others', async () => {
    const one = buildEncoder('one');
    const two = buildEncoder('two-longer');
    const three = buildEncoder('three-the-longest-of-all');
    installHfRepo(d, {
      repo: 'org/xl',
      refs: { main: C1 },
      commits: { [C1]: [{ path: 'text_encoder/model.safetensors', content: one }, { path: 'text_encoder_2/model.safetensors', content: two }, { path: 'text_encoder_3/model.safetensors', content: three }] },
    });
    const h = harness(studio, d);
    const first = (await h.pull('hf:org/xl:text_encoder/model.safetensors')).result.models[0];
    const second = (await h.pull('hf:org/xl:text_encoder_2/model.safetensors')).result.models[0];
    expect(first?.kind).toBe('text-encoder');
    const secondName = `model-${sha256Hex(two).slice(0, 12)}.safetensors`;
    expect(second?.files[0]?.path).toBe(secondName);
    // A set whose main file is new: the commit folder is taken, so it gets a subfolder of its own.
    const set = (await h.pull('hf:org/xl:')).result.models[0];
    expect(set?.files.find((file) => file.main)?.path).toBe('text_encoder_3/model.safetensors');
    const commitDir = path.join('text-encoder', 'hf', 'org--xl', C1);
    const setDir = path.join(commitDir, sha256Hex(three).slice(0, 12));
    expect(await modelFiles(studio)).toEqual(
      [
        path.join(commitDir, 'model.safetensors'),
        path.join(commitDir, secondName),
        path.join(setDir, 'text_encoder', 'model.safetensors'),
        path.join(setDir, 'text_encoder_2', 'model.safetensors'),
        path.join(setDir, 'text_encoder_3', 'model.safetensors'),
      ].sort(),
    );
    await studio.library.remove(first?.id ?? '');
    await studio.library.remove(set?.id ?? '');
    expect(await readFile(await studio.library.fileOf(second?.id ?? ''))).toEqual(two);
    expect(await modelFiles(studio)).toEqual([path.join(commitDir, secondName)]);
  });
});

function buildEncoder(tag: string): Buffer {
  const header = JSON.stringify({ __metadata__: { tag }, 'text_model.encoder.layers.0.mlp.fc1.weight': { dtype: 'F16', shape: [2, 2], data_offsets: [0, 8] } });
  const padded = header + ' '.repeat((8 - ((8 + Buffer.byteLength(header)) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(padded)));
  return Buffer.concat([length, Buffer.from(padded), Buffer.alloc(8, 1)]);
}
