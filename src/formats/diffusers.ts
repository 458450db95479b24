import { lstat, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { LorasmithError, errnoCode } from '../core/errors.ts';
import { detectFileFormat } from './detect.ts';
import type { DetectedFormat } from './detect.ts';
import { readFailed } from './read-head.ts';
import { parseStrictJson } from './safetensors/strict-json.ts';

/**
 * Recognise a diffusers pipeline folder by content: `model_index.json` naming `_class_name` and
 * `_diffusers_version`, and one subfolder per component (`"unet": ["diffusers", "UNet2DConditionModel"]`).
 * Component names come from the file and become folder names, so they are checked as single safe path
 * segments; links are refused. Weight files are only listed with their detected format: the caller runs
 * each one through its own validator (safetensors, GGUF, ONNX, the pickle scanner) before use.
 */

export interface DiffusersLimits {
  maxIndexBytes: number;
  maxComponents: number;
  maxFilesPerComponent: number;
}

export const DEFAULT_DIFFUSERS_LIMITS: Readonly<DiffusersLimits> = Object.freeze({
  maxIndexBytes: 1024 * 1024,
  maxComponents: 64,
  maxFilesPerComponent: 10_000,
});

export interface DiffusersFile {
  name: string;
  path: string;
  size: number;
  format: DetectedFormat;
}

export interface DiffusersComponent {
  name: string;
  library: string;
  className: string;
  folder: string;
  /** `config.json`, `scheduler_config.json`, … */
  configFiles: string[];
  /** Files whose content is a model or archive format (anything but `other`): validate each before use. */
  weightFiles: DiffusersFile[];
  /** Files detected as `other` (JSON, text, tokenizer data). `other` can still be a protocol-0 pickle. */
  otherFiles: DiffusersFile[];
}

export interface DiffusersPipeline {
  className: string;
  diffusersVersion: string;
  components: DiffusersComponent[];
  warnings: string[];
}

export type DiffusersRejectionCode =
  | 'diffusers.not_a_pipeline'
  | 'diffusers.index'
  | 'diffusers.component_name'
  | 'diffusers.missing_component'
  | 'diffusers.symlink'
  | 'diffusers.too_many';

export type DiffusersInspection =
  | { ok: true; pipeline: DiffusersPipeline }
  | { ok: false; reason: { code: DiffusersRejectionCode; message: string } };

const INDEX_FILE = 'model_index.json';
const SAFE_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const CONFIG_FILE = /(^|_)config\.json$/;

class Refused extends Error {
  readonly code: DiffusersRejectionCode;
  constructor(code: DiffusersRejectionCode, message: string) {
    super(message);
    this.code = code;
  }
}

export async function inspectDiffusersFolder(params: { dir: string; limits?: Partial<DiffusersLimits> }): Promise<DiffusersInspection> {
  const limits = { ...DEFAULT_DIFFUSERS_LIMITS, ...params.limits };
  try {
    return { ok: true, pipeline: await inspect(path.resolve(params.dir), limits) };
  } catch (error) {
    if (error instanceof Refused) return { ok: false, reason: { code: error.code, message: error.message } };
    if (error instanceof LorasmithError) throw error;
    throw readFailed(params.dir, error, 'folder');
  }
}

async function inspect(dir: string, limits: DiffusersLimits): Promise<DiffusersPipeline> {
  const indexPath = path.join(dir, INDEX_FILE);
  const indexStat = await lstat(indexPath).catch((error: unknown) => {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') throw new Refused('diffusers.not_a_pipeline', `${dir} has no ${INDEX_FILE}`);
    throw error;
  });
  if (indexStat.isSymbolicLink()) throw new Refused('diffusers.symlink', `${INDEX_FILE} is a symbolic link`);
  if (!indexStat.isFile()) throw new Refused('diffusers.not_a_pipeline', `${INDEX_FILE} is not a file`);
  if (indexStat.size > limits.maxIndexBytes) throw new Refused('diffusers.index', `${INDEX_FILE} is ${indexStat.size} bytes (limit ${limits.maxIndexBytes})`);

  const parsed = parseStrictJson(await readFile(indexPath));
  if (!parsed.ok) throw new Refused('diffusers.index', `${INDEX_FILE} is not valid JSON: ${parsed.error.message} at byte ${parsed.error.offset}`);
  const root = parsed.value;
  if (root.kind !== 'object') throw new Refused('diffusers.not_a_pipeline', `${INDEX_FILE} is not a JSON object`);
  const className = root.entries.get('_class_name');
  const version = root.entries.get('_diffusers_version');
  if (className?.kind !== 'string' || version?.kind !== 'string') {
    throw new Refused('diffusers.not_a_pipeline', `${INDEX_FILE} has no "_class_name" and "_diffusers_version" strings`);
  }

  const components: DiffusersComponent[] = [];
  const warnings: string[] = [];
  for (const [name, value] of root.entries) {
    // "_…" keys are pipeline attributes; other non-pair values are pipeline options (e.g. booleans).
    if (name.startsWith('_') || value.kind !== 'array' || value.items.length !== 2) continue;
    const [library, cls] = value.items;
    if (library?.kind === 'literal' && library.value === null && cls?.kind === 'literal' && cls.value === null) continue; // absent component
    if (library?.kind !== 'string' || cls?.kind !== 'string') {
      throw new Refused('diffusers.index', `component ${JSON.stringify(name.slice(0, 64))} is not a [library, class] pair of strings`);
    }
    if (!SAFE_SEGMENT.test(name) || name.includes('..')) {
      throw new Refused('diffusers.component_name', `component name ${JSON.stringify(name.slice(0, 64))} is not a plain folder name`);
    }
    if (components.length >= limits.maxComponents) throw new Refused('diffusers.too_many', `more than ${limits.maxComponents} components`);
    components.push(await component({ dir, name, library: library.value, className: cls.value, limits, warnings }));
  }
  return { className: className.value, diffusersVersion: version.value, components, warnings };
}

async function component(params: {
  dir: string;
  name: string;
  library: string;
  className: string;
  limits: DiffusersLimits;
  warnings: string[];
}): Promise<DiffusersComponent> {
  const { dir, name, limits, warnings } = params;
  const folder = path.join(dir, name);
  const stat = await lstat(folder).catch((error: unknown) => {
    if (errnoCode(error) === 'ENOENT') throw new Refused('diffusers.missing_component', `component folder ${name}/ is missing`);
    throw error;
  });
  if (stat.isSymbolicLink()) throw new Refused('diffusers.symlink', `component folder ${name}/ is a symbolic link`);
  if (!stat.isDirectory()) throw new Refused('diffusers.missing_component', `component ${name} is not a folder`);

  const entries = await readdir(folder, { withFileTypes: true });
  if (entries.length > limits.maxFilesPerComponent) throw new Refused('diffusers.too_many', `${name}/ holds more than ${limits.maxFilesPerComponent} entries`);
  const result: DiffusersComponent = { name, library: params.library, className: params.className, folder, configFiles: [], weightFiles: [], otherFiles: [] };
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.isSymbolicLink()) throw new Refused('diffusers.symlink', `${name}/${entry.name} is a symbolic link`);
    if (!entry.isFile()) {
      warnings.push(`${name}/${entry.name} is not a regular file and was skipped`);
      continue;
    }
    const filePath = path.join(folder, entry.name);
    const { format, fileSize } = await detectFileFormat({ path: filePath });
    const file: DiffusersFile = { name: entry.name, path: filePath, size: fileSize, format };
    if (format === 'other') {
      result.otherFiles.push(file);
      if (CONFIG_FILE.test(entry.name)) result.configFiles.push(entry.name);
    } else {
      result.weightFiles.push(file);
    }
  }
  return result;
}
