/**
 * Into the library (DESIGN.md §3, PKL-R02): a file already in quarantine is scanned; anything not `safe`
 * is refused and deleted, and never reaches `models/`; a safe PyTorch checkpoint is converted by our
 * restricted reader and only the safetensors result goes on; then fingerprint, hashes, and an atomic
 * rename into `models/<kind>/local/<sha256-12>/-/<name>` with the record.
 */
import { randomUUID } from 'node:crypto';
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { SecurityEvents } from '../access/security-events.ts';
import { LorasmithError } from '../core/errors.ts';
import { sanitizeFileName } from '../core/file-names.ts';
import type { Workspace } from '../core/workspace.ts';
import { describeHeader } from '../formats/describe-header.ts';
import { detectFamilyAndKind, hashModelFile, type Fingerprint, type ModelKind } from '../formats/fingerprint/index.ts';
import { scanFile, type FileScan } from '../formats/scan-file.ts';
import { convertToSafetensors } from '../formats/torch/index.ts';
import type { ModelLibrary } from './model-library.ts';
import { locationSegments, loraSummary, type ModelFileEntry, type ModelLocation, type ModelRecord, type ModelSource } from './model-record.ts';

export const IMPORT_STEPS = ['scanning', 'converting', 'fingerprinting', 'hashing', 'storing'] as const;
export type ImportStep = (typeof IMPORT_STEPS)[number];

export interface ImportModelParams {
  workspace: Workspace;
  library: ModelLibrary;
  securityEvents: SecurityEvents;
  /** A file in quarantine that this import now owns: it is moved into the library or deleted. */
  file: string;
  /** The name it came with (sanitised again here). */
  name: string;
  /** Where it came from: decides its folder under models/ and its provenance. */
  source: ModelLocation & { provenance?: ModelSource['provenance'] };
  /** `--kind`: a check, never an override (the fingerprint decides). */
  expectedKind?: ModelKind;
  /** Keep a converted pickle's original in quarantine (PKL-R02), e.g. to report it upstream. */
  keepOriginal?: boolean;
  step?: (step: ImportStep) => void;
  progress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface ImportModelResult {
  model: ModelRecord;
  /** True when the same bytes were already in the library: nothing new was stored. */
  duplicate: boolean;
}

const HINTS: Record<FileScan['verdict'], string> = {
  safe: '',
  unsafe: 'Do not load this file with Python tools either: it can run code. Get the model as .safetensors from a trusted source.',
  invalid: 'The file is damaged or not what its name says. Download it again, ideally as .safetensors.',
  unsupported: 'lorasmith takes safetensors files and PyTorch checkpoints (.ckpt/.pt), plus GGUF and ONNX.',
};

/** The refusal of a file whose scan was not `safe`: exit code 1, the verdict as the code. */
export function refusalError(name: string, scan: FileScan): LorasmithError {
  const finding = scan.findings[0];
  const where = finding?.member ? ` in ${finding.member}` : '';
  const at = finding?.offset === undefined ? '' : ` at byte ${finding.offset}`;
  const label = finding?.label && !finding.message.includes(finding.label) ? ` (contains ${finding.label})` : '';
  return new LorasmithError({
    code: scan.verdict,
    message: `${name} is ${scan.verdict}: ${finding?.message ?? 'refused by the scan'}${label}${where}${at}.`,
    hint: HINTS[scan.verdict],
    exitCode: 1,
    status: 422,
    details: { verdict: scan.verdict, format: scan.format, findings: scan.findings.slice(0, 20) },
  });
}

/** `--kind` is a check, never an override: the fingerprint decides, and another kind refuses the import. */
export function checkExpectedKind(name: string, expected: ModelKind | undefined, fingerprint: Fingerprint, hint: string): void {
  if (expected === undefined || expected === fingerprint.kind) return;
  throw new LorasmithError({
    code: 'kind-mismatch',
    message: `${name} is a ${fingerprint.kind}, not a ${expected} (${fingerprint.evidence[0] ?? 'from its keys'}).`,
    hint,
    exitCode: 1,
    status: 422,
  });
}

/**
 * A new entry's record, alike for one file and for a set: what the fingerprint and the source decide is filled
 * in here, the caller gives what it measured.
 */
export function newModelRecord(params: {
  name: string;
  fingerprint: Fingerprint;
  source: ImportModelParams['source'];
  converted: ModelSource['converted'];
  format: ModelRecord['format'];
  warnings: string[];
  size: number;
  tensorCount: number;
  parameterCount: number;
  hashes: ModelRecord['hashes'];
  evidence: string[];
  files: ModelFileEntry[];
}): ModelRecord {
  const { fingerprint, source, hashes } = params;
  return {
    id: randomUUID(),
    name: params.name,
    kind: fingerprint.kind,
    family: fingerprint.family,
    variant: fingerprint.variant,
    predictionType: fingerprint.predictionType,
    format: params.format,
    verdict: 'safe',
    warnings: params.warnings,
    size: params.size,
    tensorCount: params.tensorCount,
    parameterCount: params.parameterCount,
    hashes: { sha256: hashes.sha256, autoV2: hashes.autoV2, autoV1: hashes.autoV1, sshsModelHash: hashes.sshsModelHash },
    lora: loraSummary(fingerprint.lora),
    source: { type: source.type, converted: params.converted, ...(source.provenance === undefined ? {} : { provenance: source.provenance }) },
    evidence: params.evidence,
    createdAt: new Date().toISOString(),
    files: params.files,
    civitai: null,
  };
}

function stemOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

/**
 * The name the file takes in its folder. Files of one hub commit share a folder, so another entry may
 * already hold this name (two `model.safetensors` from different subfolders): the new file then carries
 * its own digest, and nothing is ever renamed over an existing entry's file.
 */
async function freeName(workspace: Workspace, folder: string, name: string, sha256: string): Promise<string> {
  const taken = async (candidate: string): Promise<boolean> => (await lstat(await workspace.resolve('models', `${folder}/${candidate}`)).catch(() => null)) !== null;
  if (!(await taken(name))) return name;
  const dot = name.lastIndexOf('.');
  const alternative = dot > 0 ? `${name.slice(0, dot)}-${sha256.slice(0, 12)}${name.slice(dot)}` : `${name}-${sha256.slice(0, 12)}`;
  if (await taken(alternative)) {
    throw new LorasmithError({ code: 'name-taken', message: `models/${folder}/ already holds ${alternative}.`, hint: 'Remove the stray file from that folder, then import again.', exitCode: 2, status: 409 });
  }
  return alternative;
}

export async function importModel(params: ImportModelParams): Promise<ImportModelResult> {
  const { workspace, library } = params;
  const quarantine = workspace.paths.areas.quarantine;
  let file = params.file;
  let name = sanitizeFileName(params.name);
  const leftovers = new Set<string>([file]);
  try {
    params.step?.('scanning');
    let scan = await scanFile({ path: file });
    if (scan.verdict !== 'safe') {
      await params.securityEvents.record('file-refused', `${name}: ${scan.verdict} (${scan.findings[0]?.code ?? 'scan'})`);
      throw refusalError(name, scan);
    }
    let converted: ModelSource['converted'] = null;
    if (scan.convertible) {
      params.step?.('converting');
      const original = await hashModelFile({ path: file, ...(params.signal ? { signal: params.signal } : {}) });
      const output = path.join(quarantine, `${randomUUID()}.safetensors`);
      leftovers.add(output);
      await convertToSafetensors({ inputPath: file, outputPath: output, metadata: { 'lorasmith.converted_from': scan.format } });
      converted = { from: scan.format, originalName: name, originalSha256: original.sha256 };
      if (params.keepOriginal) leftovers.delete(file);
      else await rm(file, { force: true });
      file = output;
      name = `${stemOf(name)}.safetensors`;
      scan = await scanFile({ path: file });
      if (scan.verdict !== 'safe') throw refusalError(name, scan);
    }
    const details = scan.details;
    if (details === undefined || details.kind === 'checkpoint') {
      throw new LorasmithError({
        code: 'unsupported',
        message: `${name} holds nothing lorasmith can use: ${scan.nothingToConvert ?? `a ${scan.format} file`}.`,
        hint: HINTS.unsupported,
        exitCode: 1,
        status: 422,
      });
    }
    params.step?.('fingerprinting');
    const header = describeHeader(details);
    const fingerprint =
      details.kind === 'safetensors'
        ? detectFamilyAndKind({ tensors: header.tensors, metadata: header.metadata })
        : { kind: 'other' as const, family: 'unknown' as const, variant: null, predictionType: 'unknown' as const, lora: null, evidence: [`a ${details.kind} file: no family rules apply`] };
    checkExpectedKind(name, params.expectedKind, fingerprint, 'Drop --kind to import it as what it is, or pick the right file.');
    params.step?.('hashing');
    const hashes = await hashModelFile({ path: file, ...(params.progress ? { onProgress: params.progress } : {}), ...(params.signal ? { signal: params.signal } : {}) });
    const existing = await library.findBySha256(hashes.sha256);
    if (existing !== null) return { model: existing, duplicate: true };

    params.step?.('storing');
    const folder = [fingerprint.kind, ...locationSegments(params.source, hashes.sha256)].join('/');
    const diskName = await freeName(workspace, folder, name, hashes.sha256);
    const relPath = `${folder}/${diskName}`;
    const destination = await workspace.resolve('models', relPath);
    await mkdir(path.dirname(destination), { recursive: true, mode: 0o700 });
    const record = newModelRecord({
      name,
      fingerprint,
      source: params.source,
      converted,
      format: details.kind,
      warnings: scan.warnings.map((warning) => warning.message),
      size: hashes.size,
      tensorCount: header.tensors.length,
      parameterCount: header.parameterCount,
      hashes,
      evidence: fingerprint.evidence,
      files: [{ path: diskName, size: hashes.size, sha256: hashes.sha256, main: true }],
    });
    await rename(file, destination);
    leftovers.delete(file);
    try {
      await library.insert(record, relPath);
    } catch (error) {
      await rm(destination, { force: true });
      throw error;
    }
    return { model: record, duplicate: false };
  } finally {
    for (const leftover of leftovers) await rm(leftover, { force: true });
  }
}
