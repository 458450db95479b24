/**
 * A multi-file model into the library as ONE entry (DESIGN.md §3: "a multi-file model … is one entry whose
 * files share the folder"): a diffusers pipeline, a WD14 tagger (`model.onnx` + `selected_tags.csv`),
 * sharded weights, or any set pulled together. Every weight file passes its own scan, as one file does in
 * `importModel` (anything not `safe` refuses the whole set; a safe pickle is converted); companion files
 * (configs, tokenizer data, text) are kept as they are and never read as models. The main file decides
 * kind and family — for a diffusers pipeline together with its folder content — and the staging folder
 * moves into `models/<kind>/<source>/<id>/<rev>/` in one rename, so a refused set leaves nothing there.
 */
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { lstat, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { SecurityEvents } from '../access/security-events.ts';
import { LorasmithError } from '../core/errors.ts';
import { sanitizeFileName } from '../core/file-names.ts';
import type { Workspace } from '../core/workspace.ts';
import { loadTagger, MODEL_FILE, TAGS_FILE } from '../datasets/tagging/load-tagger.ts';
import { describeHeader } from '../formats/describe-header.ts';
import { detectFileFormat } from '../formats/detect.ts';
import { inspectDiffusersFolder, type DiffusersPipeline } from '../formats/diffusers.ts';
import { detectFamilyAndKind, hashModelFile, type Fingerprint, type ModelFamily, type ModelKind, type PredictionType, type TensorDescription } from '../formats/fingerprint/index.ts';
import { scanFile, type ScanDetails } from '../formats/scan-file.ts';
import { convertToSafetensors } from '../formats/torch/index.ts';
import { checkExpectedKind, newModelRecord, refusalError, type ImportModelResult, type ImportStep } from './import-model.ts';
import type { ModelLibrary } from './model-library.ts';
import { locationSegments, type ModelFileEntry, type ModelLocation, type ModelSource } from './model-record.ts';

/** A pull takes at most this many files; an import of a folder the same. */
export const MAX_SET_FILES = 200;

/**
 * Names a loader opens as weights: model formats, and what Python tools read with a pickle loader
 * (`torch.load`, `pickle.load`, `np.load`, Keras) whatever the bytes look like — protocol 0 pickles have
 * no magic. Such a file is scanned as a weight file, as is any content with a model or archive magic.
 */
const WEIGHT_EXTENSIONS = new Set(['safetensors', 'gguf', 'onnx', 'bin', 'pt', 'pth', 'ckpt', 'pkl', 'pickle', 'joblib', 'npy', 'npz', 'h5', 'keras']);
/** What `detectFileFormat` says of text and of content without a magic (JSON, CSV, tokenizer data, images). */
const PLAIN_CONTENT = new Set(['other', 'pickle-candidate']);
const MAX_CONFIG_BYTES = 1024 * 1024;
const SHARD = /^(.*)-(\d{5})-of-(\d{5})(\.[^.]+)$/;

/** SD U-Net cross-attention widths (kohya-sd-scripts.md §7.4), as a diffusers `unet/config.json` states them. */
const UNET_CROSS_ATTENTION: ReadonlyMap<number, ModelFamily> = new Map([
  [768, 'sd1'],
  [1024, 'sd2'],
  [2048, 'sdxl'],
]);
/** Pipeline classes that name their family outright (`StableDiffusionPipeline` serves SD1 and SD2 alike). */
const PIPELINE_FAMILY: ReadonlyMap<string, ModelFamily> = new Map([
  ['StableDiffusionXLPipeline', 'sdxl'],
  ['StableDiffusion3Pipeline', 'sd3'],
  ['FluxPipeline', 'flux1'],
  ['ChromaPipeline', 'chroma'],
  ['Lumina2Pipeline', 'lumina2'],
]);
/** Components holding the denoiser: a pipeline with one is a checkpoint. */
const DENOISERS = ['transformer', 'unet'];

export interface ImportModelSetParams {
  workspace: Workspace;
  library: ModelLibrary;
  securityEvents: SecurityEvents;
  /** A quarantine folder this import owns, holding exactly the entry's files; moved into the library or removed. */
  staging: string;
  /** The files, relative to `staging` ('/'-separated; each segment must already be a sanitised name). */
  files: readonly string[];
  /** SHA-256 already computed for a file (a verified download), by relative path: saves a second read. */
  knownSha256?: ReadonlyMap<string, string>;
  /** The entry's name (a folder or repository name). */
  name: string;
  /**
   * The main file (one of `files`) when the caller knows it — a run's output beside its companions: the entry
   * is known by it instead of by what its layout or largest weight file says. It must be a weight file.
   */
  main?: string;
  source: ModelLocation & { provenance?: ModelSource['provenance'] };
  /** `--kind`: a check, never an override. */
  expectedKind?: ModelKind;
  step?: (step: ImportStep) => void;
  progress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

interface Member {
  path: string;
  /** A weight file that passed its scan, with what its validator read; undefined for a companion. */
  details?: Exclude<ScanDetails, { kind: 'checkpoint' }>;
  warnings: string[];
  converted: ModelSource['converted'];
}

/** The main file and what the entry is: kind and family with the evidence for them. */
interface Identity {
  main: Member;
  fingerprint: Fingerprint;
}

function unsupported(message: string, hint: string): LorasmithError {
  return new LorasmithError({ code: 'unsupported', message, hint, exitCode: 1, status: 422 });
}

function extensionOf(file: string): string {
  const base = file.slice(file.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot + 1).toLowerCase();
}

/** Full-file SHA-256, read once, never through a symlink. */
export async function sha256OfFile(file: string): Promise<string> {
  const handle = await open(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  try {
    const hash = createHash('sha256');
    for await (const chunk of handle.createReadStream() as AsyncIterable<Buffer>) hash.update(chunk);
    return hash.digest('hex');
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Relative paths as the set names them: sanitised segments, no duplicates (case-insensitively), bounded. */
function checkPaths(files: readonly string[]): void {
  if (files.length === 0 || files.length > MAX_SET_FILES) throw new Error(`a model set holds 1–${MAX_SET_FILES} files`);
  const seen = new Set<string>();
  for (const file of files) {
    if (file.split('/').some((segment) => segment !== sanitizeFileName(segment))) throw new Error(`${JSON.stringify(file)} is not a sanitised relative path`);
    const key = file.toLowerCase();
    if (seen.has(key)) throw new Error(`${JSON.stringify(file)} is listed twice`);
    seen.add(key);
  }
}

/** A small JSON config read as data (a companion of a diffusers pipeline); null when absent or unreadable. */
async function readConfig(file: string): Promise<Record<string, unknown> | null> {
  const info = await lstat(file).catch(() => null);
  if (info === null || !info.isFile() || info.size > MAX_CONFIG_BYTES) return null;
  try {
    const value: unknown = JSON.parse(await readFile(file, 'utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The files of one sharded checkpoint (`x-00001-of-00003.safetensors`): fingerprinted together. */
function shardGroup(main: Member, members: readonly Member[]): Member[] {
  const match = SHARD.exec(main.path);
  if (match === null) return [main];
  const [, stem, , total, ext] = match;
  return members.filter((member) => {
    const other = SHARD.exec(member.path);
    return member.details?.kind === 'safetensors' && other !== null && other[1] === stem && other[3] === total && other[4] === ext;
  });
}

function tensorsOf(members: readonly Member[]): { tensors: TensorDescription[]; metadata: Record<string, string> } {
  const tensors: TensorDescription[] = [];
  const metadata: Record<string, string> = {};
  for (const member of members) {
    if (member.details === undefined) continue;
    const header = describeHeader(member.details);
    tensors.push(...header.tensors);
    Object.assign(metadata, header.metadata);
  }
  return { tensors, metadata };
}

function fingerprintOf(main: Member, members: readonly Member[]): Fingerprint {
  if (main.details?.kind !== 'safetensors') {
    return { kind: 'other', family: 'unknown', variant: null, predictionType: 'unknown', lora: null, evidence: [`a ${main.details?.kind ?? 'companion'} file: no family rules apply`] };
  }
  return detectFamilyAndKind(tensorsOf(shardGroup(main, members)));
}

/** The largest weight file (safetensors first), paths breaking ties: the file the entry is known by. */
function largest(members: readonly Member[], sizes: ReadonlyMap<string, number>): Member | undefined {
  const rank = (member: Member): number => (member.details?.kind === 'safetensors' ? 1 : 0);
  return [...members].sort((a, b) => rank(b) - rank(a) || (sizes.get(b.path) ?? 0) - (sizes.get(a.path) ?? 0) || (a.path < b.path ? -1 : 1))[0];
}

/** A diffusers pipeline: the denoiser's weights are the main file; the folder content decides the rest. */
async function diffusersIdentity(staging: string, pipeline: DiffusersPipeline, weights: readonly Member[], sizes: ReadonlyMap<string, number>): Promise<Identity | null> {
  const component = DENOISERS.map((name) => pipeline.components.find((c) => c.name === name)).find((c) => c !== undefined);
  if (component === undefined) return null;
  const main = largest(
    weights.filter((member) => member.path.startsWith(`${component.name}/`)),
    sizes,
  );
  if (main === undefined) throw unsupported(`The diffusers pipeline's ${component.name}/ holds no weight file.`, 'Pull the whole pipeline folder, or include its weights.');
  const keys = fingerprintOf(main, weights);
  const evidence = [`model_index.json: ${pipeline.className} (diffusers ${pipeline.diffusersVersion}), ${pipeline.components.length} components, denoiser ${component.name}/ → checkpoint`];
  let family = keys.family;
  let variant = keys.variant;
  if (family !== 'unknown') evidence.push(...keys.evidence);
  else {
    const config = component.name === 'unet' ? await readConfig(path.join(staging, 'unet', 'config.json')) : null;
    const width = config?.cross_attention_dim;
    const byWidth = typeof width === 'number' ? UNET_CROSS_ATTENTION.get(width) : undefined;
    const byClass = PIPELINE_FAMILY.get(pipeline.className);
    if (byWidth !== undefined) {
      family = byWidth;
      evidence.push(`unet/config.json: cross_attention_dim ${String(width)} → ${byWidth}`);
    } else if (byClass !== undefined) {
      family = byClass;
      evidence.push(`pipeline class ${pipeline.className} → ${byClass}`);
    } else evidence.push(`neither the ${component.name} weights nor the pipeline class name a family`);
    variant = null;
  }
  const scheduler = await readConfig(path.join(staging, 'scheduler', 'scheduler_config.json'));
  const declared = scheduler?.prediction_type;
  const predictionType: PredictionType = declared === 'epsilon' ? 'epsilon' : declared === 'v_prediction' ? 'v' : 'unknown';
  if (typeof declared === 'string') evidence.push(`scheduler/scheduler_config.json: prediction_type "${declared.slice(0, 40)}" → ${predictionType}`);
  else if (family === 'sd1' || family === 'sd2') evidence.push('prediction type not declared by the scheduler config; the user confirms');
  return { main, fingerprint: { kind: 'checkpoint', family, variant, predictionType, lora: null, evidence } };
}

export async function importModelSet(params: ImportModelSetParams): Promise<ImportModelResult> {
  const { workspace, library, staging } = params;
  const name = sanitizeFileName(params.name);
  checkPaths(params.files);
  if (params.main !== undefined && !params.files.includes(params.main)) throw new Error(`the main file ${JSON.stringify(params.main)} is not one of the set's files`);
  try {
    params.step?.('scanning');
    // Lower-cased, as names collide on case-insensitive file systems; layouts are recognised by exact names.
    const names = new Set(params.files.map((file) => file.toLowerCase()));
    const members: Member[] = [];
    const evidence: string[] = [];
    for (const file of params.files) {
      params.signal?.throwIfAborted();
      const full = path.join(staging, ...file.split('/'));
      const { format } = await detectFileFormat({ path: full });
      if (PLAIN_CONTENT.has(format) && !WEIGHT_EXTENSIONS.has(extensionOf(file))) {
        // A companion (config, tokenizer, text): kept as it is, never read as a model by lorasmith.
        members.push({ path: file, warnings: [], converted: null });
        continue;
      }
      let scan = await scanFile({ path: full });
      if (scan.verdict !== 'safe') {
        await params.securityEvents.record('file-refused', `${name}/${file}: ${scan.verdict} (${scan.findings[0]?.code ?? 'scan'})`);
        throw refusalError(`${name}/${file}`, scan);
      }
      let memberPath = file;
      let converted: ModelSource['converted'] = null;
      if (scan.convertible) {
        const target = `${file.slice(0, file.length - (extensionOf(file).length + 1))}.safetensors`;
        if (names.has(target.toLowerCase())) {
          // diffusers repos ship `x.bin` beside `x.safetensors`: the safetensors file is the one kept.
          await rm(full, { force: true });
          evidence.push(`${file}: a safe ${scan.format} dropped, ${target} is in the set`);
          continue;
        }
        params.step?.('converting');
        const originalSha256 = params.knownSha256?.get(file) ?? (await sha256OfFile(full));
        await convertToSafetensors({ inputPath: full, outputPath: path.join(staging, ...target.split('/')), metadata: { 'lorasmith.converted_from': scan.format } });
        await rm(full, { force: true });
        names.add(target.toLowerCase());
        converted = { from: scan.format, originalName: file, originalSha256 };
        evidence.push(`${file}: converted from ${scan.format} to ${target}`);
        memberPath = target;
        scan = await scanFile({ path: path.join(staging, ...target.split('/')) });
        if (scan.verdict !== 'safe') throw refusalError(`${name}/${target}`, scan);
      }
      const details = scan.details;
      if (details === undefined || details.kind === 'checkpoint') {
        throw unsupported(`${name}/${file} holds nothing lorasmith can use: ${scan.nothingToConvert ?? `a ${scan.format} file`}.`, 'Leave it out of the selection (--include) and pull again.');
      }
      members.push({ path: memberPath, details, warnings: scan.warnings.map((warning) => `${memberPath}: ${warning.message}`), converted });
    }
    const weights = members.filter((member) => member.details !== undefined);
    if (weights.length === 0) throw unsupported(`${name} holds no model file, only ${members.length} companion file${members.length === 1 ? '' : 's'}.`, 'Select the weights too (safetensors, GGUF, ONNX or a checkpoint).');

    params.step?.('fingerprinting');
    const sizes = new Map<string, number>();
    for (const member of members) sizes.set(member.path, (await lstat(path.join(staging, ...member.path.split('/')))).size);
    const warnings = members.flatMap((member) => member.warnings);
    let identity: Identity | null = null;
    let isTagger = false;
    const has = (file: string): boolean => members.some((member) => member.path === file);
    if (params.main !== undefined) {
      const named = params.main;
      const main = members.find((member) => member.path === named || member.converted?.originalName === named);
      if (main?.details === undefined) throw unsupported(`${name}/${named} is not a model file, so it cannot be the entry's main file.`, 'Name a weight file (safetensors, GGUF, ONNX or a checkpoint) as the main file.');
      const fingerprint = fingerprintOf(main, weights);
      identity = { main, fingerprint: { ...fingerprint, evidence: [`main file ${main.path} (named by the import)`, ...fingerprint.evidence] } };
    } else if (has('model_index.json')) {
      const inspection = await inspectDiffusersFolder({ dir: staging });
      if (!inspection.ok) {
        throw new LorasmithError({ code: 'invalid', message: `${name} is not a usable diffusers pipeline: ${inspection.reason.message}.`, hint: 'Pull the pipeline folder whole (model_index.json and every component folder).', exitCode: 1, status: 422 });
      }
      warnings.push(...inspection.pipeline.warnings);
      identity = await diffusersIdentity(staging, inspection.pipeline, weights, sizes);
    } else if (has(MODEL_FILE) && has(TAGS_FILE)) {
      const main = members.find((member) => member.path === MODEL_FILE);
      if (main?.details?.kind !== 'onnx') throw unsupported(`${name}/${MODEL_FILE} is not an ONNX model.`, 'A WD14 tagger is model.onnx plus selected_tags.csv.');
      const tagger = await loadTagger({ modelPath: path.join(staging, MODEL_FILE), tagsCsvPath: path.join(staging, TAGS_FILE), threads: 1 });
      await tagger.session.release();
      isTagger = true;
      const line = `a WD14 tagger: ${MODEL_FILE} with input ${tagger.size}×${tagger.size} and ${tagger.labels.length} tags in ${TAGS_FILE}`;
      identity = { main, fingerprint: { kind: 'tagger', family: 'unknown', variant: null, predictionType: 'unknown', lora: null, evidence: [line] } };
    }
    if (identity === null) {
      const main = largest(weights, sizes) as Member;
      const fingerprint = fingerprintOf(main, weights);
      const chosen = `main file ${main.path} (the largest of ${weights.length} weight file${weights.length === 1 ? '' : 's'})`;
      identity = { main, fingerprint: { ...fingerprint, evidence: [chosen, ...fingerprint.evidence] } };
    }
    const { main, fingerprint } = identity;
    checkExpectedKind(name, params.expectedKind, fingerprint, 'Drop --kind to store it as what it is, or pick the right files.');

    params.step?.('hashing');
    const mainPath = path.join(staging, ...main.path.split('/'));
    const hashes = await hashModelFile({ path: mainPath, ...(params.progress ? { onProgress: params.progress } : {}), ...(params.signal ? { signal: params.signal } : {}) });
    const existing = await library.findBySha256(hashes.sha256);
    if (existing !== null) return { model: existing, duplicate: true };
    const files: ModelFileEntry[] = [];
    for (const member of members) {
      const known = member.converted === null ? params.knownSha256?.get(member.path) : undefined;
      const sha256 = member === main ? hashes.sha256 : (known ?? (await sha256OfFile(path.join(staging, ...member.path.split('/')))));
      files.push({ path: member.path, size: sizes.get(member.path) ?? 0, sha256, main: member === main });
    }
    files.sort((a, b) => Number(b.main) - Number(a.main) || (a.path < b.path ? -1 : 1));

    params.step?.('storing');
    const headers = weights.map((member) => describeHeader(member.details as NonNullable<Member['details']>));
    const record = newModelRecord({
      name,
      fingerprint,
      source: params.source,
      converted: main.converted,
      format: (main.details as NonNullable<Member['details']>).kind,
      warnings,
      size: files.reduce((sum, file) => sum + (file.size ?? 0), 0),
      tensorCount: isTagger ? 0 : headers.reduce((sum, header) => sum + header.tensors.length, 0),
      parameterCount: isTagger ? 0 : headers.reduce((sum, header) => sum + header.parameterCount, 0),
      hashes: { ...hashes, sshsModelHash: isTagger ? null : hashes.sshsModelHash },
      evidence: [...fingerprint.evidence, `${files.length} files in one entry`, ...evidence],
      files,
    });
    const folder = await entryFolder(workspace, [fingerprint.kind, ...locationSegments(params.source, hashes.sha256)].join('/'), hashes.sha256);
    const destination = await workspace.resolve('models', folder);
    await mkdir(path.dirname(destination), { recursive: true, mode: 0o700 });
    await rename(staging, destination);
    try {
      await library.insert(record, `${folder}/${main.path}`);
    } catch (error) {
      await rm(destination, { recursive: true, force: true });
      throw error;
    }
    return { model: record, duplicate: false };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * The entry's folder: `<kind>/<source>/<id>/<rev>`, or — when an earlier entry from the same commit
 * already holds files there — a subfolder named by the main file's digest, so no entry's file is ever
 * replaced and the whole set still arrives in one rename.
 */
async function entryFolder(workspace: Workspace, folder: string, sha256: string): Promise<string> {
  const free = async (candidate: string): Promise<boolean> => (await lstat(await workspace.resolve('models', candidate)).catch(() => null)) === null;
  if (await free(folder)) return folder;
  const nested = `${folder}/${sha256.slice(0, 12)}`;
  if (await free(nested)) return nested;
  throw new LorasmithError({ code: 'name-taken', message: `models/${nested}/ already exists.`, hint: 'Remove that stray folder, then try again.', exitCode: 2, status: 409 });
}
