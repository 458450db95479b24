/**
 * A run's manifest (DESIGN.md §3): what it trains on, taken at enqueue so two runs can be compared, and
 * rechecked at start so a run never trains on data that changed behind the dataset lock (an edit made outside
 * lorasmith). Dataset images and captions are hashed; library models are verified files that never change in
 * place, so their recorded SHA-256 is taken and their presence and size rechecked.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LorasmithError } from '../core/errors.ts';
import type { ModelLibrary } from '../library/model-library.ts';
import type { EngineId } from '../training/engines/engine.ts';
import type { OperatorInputFiles } from '../training/import/operator-job.ts';
import type { RunConfig } from '../training/schema/index.ts';

/** What a run reads, as its engine names it (kohya's `inputs`). */
export interface RunInputs {
  models: Array<{ role: string; id: string }>;
  datasets: Array<{ name: string; dir: string; files: string[] }>;
  /** An imported config's files outside the workspace (absolute paths), by config field. */
  operator?: OperatorInputFiles[];
}

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
}

export interface RunManifest {
  version: 1;
  jobId: string;
  takenAt: string;
  engine: { id: EngineId; commit: string | null };
  seed: number;
  config: RunConfig;
  models: Array<{ role: string; id: string; name: string; sha256: string; size: number }>;
  datasets: Array<{ name: string; files: ManifestFile[] }>;
  /** An imported config's operator inputs, each file hashed (absolute paths); absent for a lorasmith config. */
  operator?: Array<{ field: string; role: string; path: string; files: ManifestFile[] }>;
}

async function sha256File(file: string): Promise<{ sha256: string; size: number }> {
  const info = await lstat(file);
  if (!info.isFile()) throw new Error(`not a regular file: ${file}`);
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return { sha256: hash.digest('hex'), size: info.size };
}

async function hashDatasets(inputs: RunInputs): Promise<RunManifest['datasets']> {
  const datasets: RunManifest['datasets'] = [];
  for (const dataset of inputs.datasets) {
    const files: ManifestFile[] = [];
    for (const relative of dataset.files) {
      const { sha256, size } = await sha256File(path.join(dataset.dir, ...relative.split('/')));
      files.push({ path: relative, size, sha256 });
    }
    datasets.push({ name: dataset.name, files });
  }
  return datasets;
}

async function hashOperatorInputs(inputs: readonly OperatorInputFiles[]): Promise<NonNullable<RunManifest['operator']>> {
  const out: NonNullable<RunManifest['operator']> = [];
  for (const input of inputs) {
    const files: ManifestFile[] = [];
    // The operator's own files may be links (a Hugging Face cache's snapshot files are): hash what they point at.
    for (const file of input.files) files.push({ path: file, ...(await sha256File(await realpath(file))) });
    out.push({ field: input.field, role: input.role, path: input.path, files });
  }
  return out;
}

export async function takeManifest(params: {
  jobId: string;
  engine: { id: EngineId; commit: string | null };
  seed: number;
  config: RunConfig;
  inputs: RunInputs;
  library: Pick<ModelLibrary, 'get'>;
  now?: () => Date;
}): Promise<RunManifest> {
  const models: RunManifest['models'] = [];
  for (const { role, id } of params.inputs.models) {
    const record = await params.library.get(id);
    models.push({ role, id, name: record.name, sha256: record.hashes.sha256, size: record.size });
  }
  return {
    version: 1,
    jobId: params.jobId,
    takenAt: (params.now?.() ?? new Date()).toISOString(),
    engine: params.engine,
    seed: params.seed,
    config: params.config,
    models,
    datasets: await hashDatasets(params.inputs),
    ...(params.inputs.operator === undefined ? {} : { operator: await hashOperatorInputs(params.inputs.operator) }),
  };
}

/** The digest of what the run reads (models and dataset files): equal digests, equal training data. */
export function manifestDigest(manifest: Pick<RunManifest, 'models' | 'datasets' | 'operator'>): string {
  const inputs = {
    models: manifest.models.map((model) => [model.role, model.id, model.sha256, model.size]),
    datasets: manifest.datasets.map((dataset) => [dataset.name, dataset.files.map((file) => [file.path, file.size, file.sha256])]),
    // Only an imported run has operator inputs; leaving the key out keeps a lorasmith run's digest as it was.
    ...(manifest.operator === undefined ? {} : { operator: manifest.operator.map((input) => [input.field, input.files.map((file) => [file.path, file.size, file.sha256])]) }),
  };
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex');
}

function describeChanges(before: RunManifest['datasets'], after: RunManifest['datasets']): string[] {
  const changes: string[] = [];
  for (const dataset of before) {
    const now = new Map((after.find((entry) => entry.name === dataset.name)?.files ?? []).map((file) => [file.path, file]));
    const then = new Map(dataset.files.map((file) => [file.path, file]));
    for (const [file, entry] of then) {
      const current = now.get(file);
      if (current === undefined) changes.push(`${dataset.name}/${file} removed`);
      else if (current.sha256 !== entry.sha256) changes.push(`${dataset.name}/${file} changed`);
    }
    for (const file of now.keys()) if (!then.has(file)) changes.push(`${dataset.name}/${file} added`);
  }
  return changes;
}

/** What differs between the operator inputs hashed at enqueue and now, each change naming the file. */
function describeOperatorChanges(before: NonNullable<RunManifest['operator']>, after: NonNullable<RunManifest['operator']>): string[] {
  const changes: string[] = [];
  for (const input of before) {
    const current = after.find((entry) => entry.field === input.field);
    if (current === undefined) {
      changes.push(`${input.path} (${input.field}) is no longer named`);
      continue;
    }
    const now = new Map(current.files.map((file) => [file.path, file]));
    const then = new Map(input.files.map((file) => [file.path, file]));
    for (const [file, entry] of then) {
      const found = now.get(file);
      if (found === undefined) changes.push(`${file} removed`);
      else if (found.sha256 !== entry.sha256 || found.size !== entry.size) changes.push(`${file} changed`);
    }
    for (const file of now.keys()) if (!then.has(file)) changes.push(`${file} added`);
  }
  return changes;
}

/**
 * Recheck at start: the same models (still in the library, same hash, same size on disk), the same dataset
 * files with the same bytes, and for an imported config the same operator input files with the same bytes. Throws `manifest-mismatch` naming what changed.
 */
export async function recheckManifest(params: {
  manifest: RunManifest;
  inputs: RunInputs;
  library: Pick<ModelLibrary, 'get' | 'fileOf'>;
}): Promise<void> {
  const { manifest } = params;
  const changes: string[] = [];
  for (const model of manifest.models) {
    try {
      const record = await params.library.get(model.id);
      const info = await lstat(await params.library.fileOf(model.id));
      if (record.hashes.sha256 !== model.sha256 || info.size !== model.size) changes.push(`model ${model.name} (${model.role}) changed`);
    } catch {
      changes.push(`model ${model.name} (${model.role}) is gone from the library`);
    }
  }
  let datasets: RunManifest['datasets'];
  try {
    datasets = await hashDatasets(params.inputs);
  } catch (error) {
    changes.push(`a dataset file could not be read (${error instanceof Error ? error.message : String(error)})`);
    datasets = manifest.datasets;
  }
  changes.push(...describeChanges(manifest.datasets, datasets));
  if (manifest.operator !== undefined) {
    try {
      changes.push(...describeOperatorChanges(manifest.operator, await hashOperatorInputs(params.inputs.operator ?? [])));
    } catch (error) {
      changes.push(`an input file could not be read (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  if (changes.length === 0) return;
  throw new LorasmithError({
    code: 'manifest-mismatch',
    message: `The run's inputs changed between enqueue and start: ${changes.slice(0, 5).join('; ')}${changes.length > 5 ? `; and ${changes.length - 5} more` : ''}.`,
    hint: 'Something edited the dataset or model outside lorasmith while the run was queued. Check the files, then start the run again (it takes a new manifest).',
    exitCode: 1,
    status: 409,
    details: { changes: changes.slice(0, 50) },
  });
}
