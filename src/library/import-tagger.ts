/**
 * A WD14 tagger into the library: one entry of kind `tagger` whose folder holds `model.onnx` and
 * `selected_tags.csv` (DESIGN.md §3, a multi-file entry). The ONNX file passes its validator (external
 * data refused), the CSV its strict parser, and the model's signature is checked against the CSV before
 * anything is stored.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { SecurityEvents } from '../access/security-events.ts';
import { LorasmithError } from '../core/errors.ts';
import { sanitizeFileName } from '../core/file-names.ts';
import type { Workspace } from '../core/workspace.ts';
import { loadTagger, MODEL_FILE, TAGS_FILE } from '../datasets/tagging/load-tagger.ts';
import { hashModelFile } from '../formats/fingerprint/index.ts';
import { scanFile } from '../formats/scan-file.ts';
import { refusalError, type ImportModelResult } from './import-model.ts';
import type { ModelLibrary } from './model-library.ts';
import { locationSegments, type ModelRecord, type ModelSourceType } from './model-record.ts';

export async function importTagger(params: {
  workspace: Workspace;
  library: ModelLibrary;
  securityEvents: SecurityEvents;
  /** A quarantine folder this import owns, holding the two files; removed whatever happens. */
  staging: string;
  name: string;
  source: ModelSourceType;
}): Promise<ImportModelResult> {
  const { workspace, library, staging } = params;
  const name = sanitizeFileName(params.name);
  const modelPath = path.join(staging, MODEL_FILE);
  const tagsPath = path.join(staging, TAGS_FILE);
  try {
    const scan = await scanFile({ path: modelPath });
    if (scan.verdict !== 'safe') {
      await params.securityEvents.record('file-refused', `${name}/${MODEL_FILE}: ${scan.verdict} (${scan.findings[0]?.code ?? 'scan'})`);
      throw refusalError(`${name}/${MODEL_FILE}`, scan);
    }
    if (scan.format !== 'onnx') {
      throw new LorasmithError({ code: 'unsupported', message: `${name}/${MODEL_FILE} is a ${scan.format} file, not an ONNX model.`, hint: 'A WD14 tagger is model.onnx plus selected_tags.csv.', exitCode: 1, status: 422 });
    }
    const tagger = await loadTagger({ modelPath, tagsCsvPath: tagsPath, threads: 1 });
    await tagger.session.release();
    const hashes = await hashModelFile({ path: modelPath });
    const existing = await library.findBySha256(hashes.sha256);
    if (existing !== null) return { model: existing, duplicate: true };
    const folder = ['tagger', ...locationSegments({ type: params.source }, hashes.sha256)].join('/');
    const destination = await workspace.resolve('models', folder);
    await mkdir(path.dirname(destination), { recursive: true, mode: 0o700 });
    await rename(staging, destination);
    const record: ModelRecord = {
      id: randomUUID(),
      name,
      kind: 'tagger',
      family: 'unknown',
      variant: null,
      predictionType: 'unknown',
      format: 'onnx',
      verdict: 'safe',
      warnings: [],
      size: hashes.size,
      tensorCount: 0,
      parameterCount: 0,
      hashes: { sha256: hashes.sha256, autoV2: hashes.autoV2, autoV1: hashes.autoV1, sshsModelHash: null },
      lora: null,
      source: { type: params.source, converted: null },
      evidence: [`a WD14 tagger: ${MODEL_FILE} with input ${tagger.size}×${tagger.size} and ${tagger.labels.length} tags in ${TAGS_FILE}`],
      createdAt: new Date().toISOString(),
    };
    try {
      await library.insert(record, `${folder}/${MODEL_FILE}`);
    } catch (error) {
      await rm(destination, { recursive: true, force: true });
      throw error;
    }
    return { model: record, duplicate: false };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
