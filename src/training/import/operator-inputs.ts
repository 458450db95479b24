/**
 * Operator inputs (DESIGN.md §6.3): the files and folders another tool's config names, taken as they are when
 * the operator runs `lorasmith train THEIR-CONFIG` on the CLI (never over the HTTP API, which takes library ids
 * and dataset names). Each one is resolved (a relative path from the config file's folder), checked, listed in
 * the plan, and replaced in the imported config by a placeholder that the run resolver maps back
 * (`OperatorSources`, src/training/resolve-run.ts):
 * - model files (base model, VAE, text encoders, `network_weights`) are scanned by content; a file that is not
 *   `safe` refuses the run with its verdict. Safetensors are bound read-only where they are; a safe PyTorch
 *   checkpoint is converted into the run folder (`convertOperatorInputs`, when the run is prepared) and the
 *   engine reads the copy, so no pickle ever reaches it;
 * - image folders (`train_data_dir` / `reg_data_dir` with kohya's `N_name` sub-folders, a LoRA Easy Training or
 *   Ktiseos subset's `image_dir`, the subsets of a `dataset_config` file) become the run's link folders like any
 *   dataset, their sources bound read-only;
 * - a `sample_prompts` file is read and its prompts written to the run's own prompt file;
 * - `output_dir` / `logging_dir` were already dropped by the importer (the run writes into its `work/`), and a
 *   `resume` state folder was refused there.
 * The run is prepared again when it starts, so what the engine gets is what was scanned then.
 */
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../../core/errors.ts';
import { describeHeader } from '../../formats/describe-header.ts';
import { detectFamilyAndKind } from '../../formats/fingerprint/index.ts';
import { scanFile, type Verdict } from '../../formats/scan-file.ts';
import { convertToSafetensors, type ConvertResult } from '../../formats/torch/index.ts';
import { refusalError } from '../../library/import-model.ts';
import { KOHYA_IMAGE_EXTENSIONS } from '../engines/kohya/link-images.ts';
import type { ResolvedRunSubset } from '../engines/kohya/map-run-config.ts';
import type { DatasetSource, OperatorModel, OperatorSources } from '../resolve-run.ts';
import { subsetName } from '../schema/fields.ts';
import type { KohyaRunInput } from '../schema/index.ts';
import type { ValidationIssue } from '../validate/index.ts';
import { parseTomlText } from './kohya-toml.ts';
import { parseSamplePrompts } from './sample-prompts.ts';
import { substituteOperatorPaths } from './substitute.ts';
import type { ImportSuccess, MissingInput, OperatorPath, OperatorPathRole, UnmappedKey } from './types.ts';
import { isDict, toBoolean, toInteger, toText } from './values.ts';

/** What the run does with an operator input. */
export type OperatorInputUse = 'bind' | 'convert' | 'link-images' | 'copy-prompts' | 'read';

export interface OperatorInput {
  /** Where it sits in the run config (`model.base`, `datasets[0].dataset`, `sampling.prompts`). */
  field: string;
  role: OperatorPathRole;
  /** The key of the imported file that named it. */
  source: string;
  /** Absolute path of the file or folder. */
  path: string;
  use: OperatorInputUse;
  /** Model files: the scan's verdict and the format it found. */
  verdict?: Verdict;
  format?: string;
  /** Model files: what the engine reads — the file itself, or its safetensors copy in the run folder. */
  enginePath?: string;
  /** Image folders: the subsets found and their images. */
  subsets?: Array<{ name: string; dir: string; images: number; repeats: number; isReg: boolean }>;
}

export interface OperatorRun {
  /** The imported config with a placeholder in place of each path: parse and validate this. */
  config: KohyaRunInput;
  sources: OperatorSources;
  inputs: OperatorInput[];
  /** Inputs that refuse the run (errors) or that sd-scripts would skip (warnings), by config field. */
  issues: ValidationIssue[];
  /** Keys of a dataset config or prompt file that have no place in the run. */
  unmapped: UnmappedKey[];
  /** Placeholder → path, so messages about a placeholder can name the path. */
  labels: ReadonlyMap<string, string>;
}

export interface PrepareOperatorInputsParams {
  imported: ImportSuccess;
  /** Relative paths in the file are taken from here: the config file's folder. */
  baseDir: string;
  /** The run folder; a converted checkpoint goes to `<runDir>/inputs/`. */
  runDir: string;
}

/** Text files an operator input may be (prompt file, dataset config): small, like the config itself. */
const MAX_TEXT_BYTES = 1024 * 1024;
const MODEL_ROLES: ReadonlySet<OperatorPathRole> = new Set(['model', 'vae', 'text-encoder', 'network-weights']);
const ROLE_WORDS: Readonly<Record<OperatorPathRole, string>> = {
  model: 'base model',
  vae: 'VAE',
  'text-encoder': 'text encoder',
  'network-weights': 'LoRA to continue from',
  'sample-prompts': 'sample prompt file',
  'dataset-config': 'dataset config',
  'train-data-dir': 'image folder',
  'reg-data-dir': 'regularisation image folder',
  resume: 'training state folder',
};
/** The sd-scripts key to add when a required input is missing. */
const ROLE_KEYS: Partial<Record<OperatorPathRole, string>> = { model: 'pretrained_model_name_or_path', 'train-data-dir': 'train_data_dir (or dataset_config)', vae: 'vae / ae', 'text-encoder': 'the text encoder key' };

function inputIssue(code: string, field: string, message: string, hint: string, severity: ValidationIssue['severity'] = 'error'): ValidationIssue {
  return { code, severity, path: field, message, hint };
}

function isKohyaImage(name: string): boolean {
  return !name.startsWith('.') && KOHYA_IMAGE_EXTENSIONS.includes(path.extname(name));
}

/** A folder name as a subset name (it names the run's link folder): disallowed characters become `_`, clashes get `-2`, `-3`. */
function uniqueSubsetName(wanted: string, taken: Set<string>): string {
  let name = wanted.replace(/[^\p{L}\p{N}\p{M} ._()-]/gu, '_').slice(0, 90);
  if (!/^[\p{L}\p{N}]/u.test(name)) name = `s${name}`;
  let candidate = name;
  for (let n = 2; taken.has(candidate) || !subsetName.safeParse(candidate).success; n += 1) candidate = `${name}-${n}`;
  taken.add(candidate);
  return candidate;
}

async function imageFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((entry) => entry.isFile() && isKohyaImage(entry.name)).map((entry) => entry.name).sort();
}

type Kind = 'file' | 'folder' | 'missing' | 'other';
async function kindOf(file: string): Promise<Kind> {
  try {
    const info = await stat(file);
    return info.isFile() ? 'file' : info.isDirectory() ? 'folder' : 'other';
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return 'missing';
    throw error;
  }
}

async function readSmallText(file: string): Promise<string | 'too-big'> {
  const info = await stat(file);
  if (info.size > MAX_TEXT_BYTES) return 'too-big';
  return readFile(file, 'utf8');
}

/** `<run>/inputs/model.base.safetensors`: one file per config field, so two roles never share a name. */
function convertedPath(runDir: string, field: string): string {
  return path.join(runDir, 'inputs', `${field.replace(/[^A-Za-z0-9._-]/g, '-')}.safetensors`);
}

interface Collected {
  inputs: OperatorInput[];
  issues: ValidationIssue[];
  unmapped: UnmappedKey[];
  models: Map<string, OperatorModel>;
  datasets: Map<string, DatasetSource>;
  labels: Map<string, string>;
  prompts?: ReturnType<typeof parseSamplePrompts>['prompts'];
}

async function modelInput(entry: OperatorPath, file: string, placeholder: string, runDir: string, out: Collected): Promise<void> {
  const what = `The ${ROLE_WORDS[entry.role]} ${file} (${entry.source})`;
  const kind = await kindOf(file);
  if (kind !== 'file') {
    out.issues.push(
      kind === 'missing'
        ? inputIssue('operator-input-missing', entry.field, `${what} does not exist.`, 'Fix the path in the config (a relative path is taken from the config file’s folder).')
        : inputIssue('operator-input-not-a-file', entry.field, `${what} is not a file.`, 'lorasmith scans single model files: name a .safetensors (or a PyTorch checkpoint) instead of a folder.'),
    );
    return;
  }
  const scan = await scanFile({ path: file });
  const input: OperatorInput = { field: entry.field, role: entry.role, source: entry.source, path: file, use: 'bind', verdict: scan.verdict, format: scan.format };
  out.inputs.push(input);
  if (scan.verdict !== 'safe') {
    const refusal = refusalError(file, scan);
    out.issues.push(inputIssue(refusal.code, entry.field, `${what} is refused: ${refusal.message}`, refusal.hint ?? ''));
    return;
  }
  const details = scan.details;
  if (details === undefined || (details.kind !== 'safetensors' && details.kind !== 'checkpoint')) {
    out.issues.push(
      inputIssue('unsupported', entry.field, `${what} is a ${scan.format} file${scan.nothingToConvert === undefined ? '' : ` (${scan.nothingToConvert})`}; sd-scripts trains from safetensors or PyTorch checkpoints.`, 'Name a .safetensors file (or a PyTorch checkpoint, which lorasmith converts).'),
    );
    return;
  }
  const header = describeHeader(details);
  const fingerprint = detectFamilyAndKind({ tensors: header.tensors, metadata: header.metadata });
  if (details.kind === 'checkpoint') {
    input.use = 'convert';
    input.enginePath = convertedPath(runDir, entry.field);
  } else {
    input.enginePath = file;
  }
  out.models.set(placeholder, { path: input.enginePath, kind: fingerprint.kind, family: fingerprint.family, size: scan.size });
}

/** kohya's `N_name` layout (kohya-sd-scripts.md §2.3): each sub-folder with a leading repeat count is a subset. */
async function kohyaFolderSubsets(entry: OperatorPath, dir: string, captionExtension: string, out: Collected): Promise<ResolvedRunSubset[]> {
  const isReg = entry.role === 'reg-data-dir';
  const subsets: ResolvedRunSubset[] = [];
  const taken = new Set<string>();
  const folders = (await readdir(dir, { withFileTypes: true })).filter((item) => item.isDirectory() && !item.name.startsWith('.')).map((item) => item.name).sort();
  for (const folder of folders) {
    const [count, ...rest] = folder.split('_');
    if (count === undefined || !/^\d+$/.test(count)) {
      out.issues.push(
        inputIssue('operator-folder-skipped', entry.field, `${path.join(dir, folder)} is skipped: sd-scripts takes only folders named "<repeats>_<class tokens>" from ${entry.source}.`, 'Rename it, e.g. "10_sks dog", to train on it.', 'warning'),
      );
      continue;
    }
    const sub = path.join(dir, folder);
    subsets.push({ name: uniqueSubsetName(folder, taken), dir: sub, repeats: Number(count), classTokens: rest.join('_'), isReg, captionExtension, files: await imageFiles(sub) });
  }
  if (subsets.length === 0 && (await imageFiles(dir)).length > 0) {
    out.issues.push(
      inputIssue(
        'operator-folder-layout',
        entry.field,
        `${dir} (${entry.source}) holds images itself; sd-scripts wants it to be the parent of "<repeats>_<class tokens>" folders and would stop with "No data found".`,
        `Move the images into a sub-folder such as ${path.join(dir, '10_subject')}.`,
      ),
    );
  }
  return subsets;
}

/** The subsets of a `--dataset_config` TOML (kohya-sd-scripts.md §2.2): each `image_dir` with its own repeats and tokens. */
async function datasetConfigSubsets(entry: OperatorPath, file: string, captionExtension: string, out: Collected): Promise<ResolvedRunSubset[] | undefined> {
  const text = await readSmallText(file);
  if (text === 'too-big') {
    out.issues.push(inputIssue('operator-input-too-big', entry.field, `The dataset config ${file} is larger than ${MAX_TEXT_BYTES} bytes.`, 'Give the dataset TOML sd-scripts reads.'));
    return undefined;
  }
  const parsed = parseTomlText(text);
  if (!parsed.ok) {
    out.issues.push(inputIssue('operator-input-unreadable', entry.field, `The dataset config ${file}: ${parsed.message}`, 'Fix the TOML, or name the image folders with train_data_dir instead.'));
    return undefined;
  }
  const unmapped = (key: string, value: unknown, reason: string): void => void out.unmapped.push({ key: `dataset_config.${key}`, value, reason });
  const general = isDict(parsed.table.general) ? parsed.table.general : {};
  const datasets = Array.isArray(parsed.table.datasets) ? parsed.table.datasets.filter(isDict) : [];
  for (const [key, value] of Object.entries(general)) if (key !== 'caption_extension') unmapped(`general.${key}`, value, 'a dataset-config setting; the run’s own settings apply');
  const baseDir = path.dirname(file);
  const taken = new Set<string>();
  const subsets: ResolvedRunSubset[] = [];
  for (const [d, dataset] of datasets.entries()) {
    for (const [key, value] of Object.entries(dataset)) {
      if (key !== 'subsets' && key !== 'caption_extension') unmapped(`datasets[${d}].${key}`, value, 'a dataset-config setting; the run’s own settings apply');
    }
    const list = Array.isArray(dataset.subsets) ? dataset.subsets.filter(isDict) : [];
    for (const [s, subset] of list.entries()) {
      const where = `datasets[${d}].subsets[${s}]`;
      const imageDir = toText(subset.image_dir);
      if (imageDir === undefined || imageDir === '') {
        unmapped(where, subset, 'a subset without image_dir (fine-tuning metadata) is not a lorasmith dataset source');
        continue;
      }
      const dir = path.resolve(baseDir, imageDir);
      if ((await kindOf(dir)) !== 'folder') {
        out.issues.push(inputIssue('operator-input-missing', entry.field, `The image folder ${dir} (${where}.image_dir in ${file}) does not exist.`, 'Fix image_dir in the dataset config (a relative path is taken from its folder).'));
        continue;
      }
      const own = (key: string): unknown => subset[key] ?? dataset[key] ?? general[key];
      const repeats = toInteger(subset.num_repeats);
      const keepTokens = toInteger(own('keep_tokens'));
      const shuffle = toBoolean(own('shuffle_caption'));
      for (const [key, value] of Object.entries(subset)) {
        if (!['image_dir', 'num_repeats', 'class_tokens', 'is_reg', 'caption_extension', 'keep_tokens', 'shuffle_caption'].includes(key)) unmapped(`${where}.${key}`, value, 'subset option lorasmith does not carry over');
      }
      subsets.push({
        name: uniqueSubsetName(path.basename(dir), taken),
        dir,
        repeats: repeats ?? 1,
        classTokens: toText(subset.class_tokens) ?? '',
        isReg: toBoolean(subset.is_reg) === true,
        captionExtension: toText(own('caption_extension')) ?? captionExtension,
        ...(keepTokens === undefined ? {} : { keepTokens }),
        ...(shuffle === undefined ? {} : { shuffleCaption: shuffle }),
        files: await imageFiles(dir),
      });
    }
  }
  return subsets;
}

async function folderInput(entry: OperatorPath, target: string, placeholder: string, imported: ImportSuccess, out: Collected): Promise<void> {
  // The folder's captions are read as sd-scripts would read them: `.caption` unless the file says otherwise.
  const captionExtension = (imported.config.captions as { extension?: string } | undefined)?.extension ?? '.caption';
  const kind = await kindOf(target);
  const isConfig = entry.role === 'dataset-config';
  if (kind !== (isConfig ? 'file' : 'folder')) {
    out.issues.push(
      inputIssue(
        kind === 'missing' ? 'operator-input-missing' : 'operator-input-not-a-folder',
        entry.field,
        `The ${ROLE_WORDS[entry.role]} ${target} (${entry.source}) ${kind === 'missing' ? 'does not exist' : `is not a ${isConfig ? 'file' : 'folder'}`}.`,
        'Fix the path in the config (a relative path is taken from the config file’s folder).',
      ),
    );
    return;
  }
  let subsets: ResolvedRunSubset[] | undefined;
  if (isConfig) subsets = await datasetConfigSubsets(entry, target, captionExtension, out);
  else if (entry.source.startsWith('subsets[')) {
    // A LoRA Easy Training / Ktiseos subset: the folder itself, named as the importer named its override.
    const index = /^datasets\[(\d+)\]/.exec(entry.field)?.[1];
    const ref = index === undefined ? undefined : (imported.config.datasets?.[Number(index)] as { subsets?: Array<{ name?: string }> } | undefined);
    const name = entry.role === 'train-data-dir' ? ref?.subsets?.[0]?.name : undefined;
    subsets = [{ name: uniqueSubsetName(name ?? path.basename(target), new Set()), dir: target, repeats: 1, classTokens: '', isReg: entry.role === 'reg-data-dir', captionExtension, files: await imageFiles(target) }];
  } else subsets = await kohyaFolderSubsets(entry, target, captionExtension, out);
  out.inputs.push({
    field: entry.field,
    role: entry.role,
    source: entry.source,
    path: target,
    use: isConfig ? 'read' : 'link-images',
    subsets: (subsets ?? []).map((subset) => ({ name: subset.name, dir: subset.dir, images: subset.files.length, repeats: subset.repeats, isReg: subset.isReg })),
  });
  if (subsets !== undefined) out.datasets.set(placeholder, { dir: target, subsets });
}

async function promptsInput(entry: OperatorPath, file: string, out: Collected): Promise<void> {
  if ((await kindOf(file)) !== 'file') {
    out.issues.push(inputIssue('operator-input-missing', entry.field, `The sample prompt file ${file} (${entry.source}) does not exist.`, 'Fix the path, or remove sample_prompts.'));
    return;
  }
  const text = await readSmallText(file);
  if (text === 'too-big') {
    out.issues.push(inputIssue('operator-input-too-big', entry.field, `The sample prompt file ${file} is larger than ${MAX_TEXT_BYTES} bytes.`, 'Give a prompt file with one prompt per line.'));
    return;
  }
  const parsed = parseSamplePrompts(text);
  for (const line of parsed.skipped) out.unmapped.push({ key: 'sample_prompts', value: line, reason: 'prompt option lorasmith does not take' });
  out.prompts = parsed.prompts;
  out.inputs.push({ field: entry.field, role: entry.role, source: entry.source, path: file, use: 'copy-prompts' });
}

/** The placeholder a config field holds while its operator input is outside the workspace. */
function placeholderFor(entry: OperatorPath | MissingInput, index: number): string {
  // Library ids are UUIDs and never contain `:`, so a model placeholder cannot name a library model.
  return entry.field.startsWith('model.') || entry.field.startsWith('network.') ? `operator:${entry.field}` : `operator-input-${index}`;
}

/** Resolve, scan and list every path an imported config names, and put placeholders in their places. */
export async function prepareOperatorInputs(params: PrepareOperatorInputsParams): Promise<OperatorRun> {
  const { imported, baseDir, runDir } = params;
  const out: Collected = { inputs: [], issues: [], unmapped: [], models: new Map(), datasets: new Map(), labels: new Map() };
  const placeholders = new Map<string, string>();
  for (const [index, entry] of imported.operatorPaths.entries()) {
    const target = path.resolve(baseDir, entry.path);
    const placeholder = placeholderFor(entry, index);
    placeholders.set(entry.field, placeholder);
    out.labels.set(placeholder, target);
    if (MODEL_ROLES.has(entry.role)) await modelInput(entry, target, placeholder, runDir, out);
    else if (entry.role === 'sample-prompts') await promptsInput(entry, target, out);
    else if (entry.role !== 'resume') await folderInput(entry, target, placeholder, imported, out);
  }
  for (const entry of imported.missing) {
    out.issues.push(
      inputIssue(
        'operator-input-missing',
        entry.field,
        `The ${imported.format} config names no ${ROLE_WORDS[entry.role]} (${entry.field}).`,
        `Add ${ROLE_KEYS[entry.role] ?? 'it'} to the file, or write the run in lorasmith's schema with a library id or dataset name.`,
      ),
    );
  }
  const config = substituteOperatorPaths(imported, (entry) => placeholders.get(entry.field)) as KohyaRunInput & { sampling?: Record<string, unknown> };
  if (out.prompts !== undefined) config.sampling = { ...config.sampling, prompts: out.prompts };
  return { config, sources: { models: out.models, datasets: out.datasets }, inputs: out.inputs, issues: out.issues, unmapped: out.unmapped, labels: out.labels };
}

/**
 * Convert each safe PyTorch checkpoint among the inputs into the run folder (`enginePath`), where the engine
 * reads it. Called when the run is prepared, after `prepareOperatorInputs` scanned the file again; the
 * converter scans once more itself and refuses anything that is no longer safe.
 */
export async function convertOperatorInputs(inputs: readonly OperatorInput[]): Promise<ConvertResult[]> {
  const results: ConvertResult[] = [];
  for (const input of inputs) {
    if (input.use !== 'convert' || input.enginePath === undefined) continue;
    await mkdir(path.dirname(input.enginePath), { recursive: true, mode: 0o700 });
    results.push(await convertToSafetensors({ inputPath: input.path, outputPath: input.enginePath, metadata: { 'lorasmith.converted_from': input.format ?? 'pickle', 'lorasmith.operator_input': input.source } }));
  }
  return results;
}
