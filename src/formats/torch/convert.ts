import { LorasmithError } from '../../core/errors.ts';
import { TORCH_DTYPES } from '../pickle/torch-dtypes.ts';
import type { PickleLimits, ScanWarning, TensorDescription } from '../pickle/types.ts';
import { isSafetensorsDtype, writeSafetensors } from '../safetensors/index.ts';
import type { SafetensorsTensorInput } from '../safetensors/index.ts';
import { openFileSource } from './byte-source.ts';
import type { ByteSource } from './byte-source.ts';
import { readTensorBytes } from './read-tensor.ts';
import { scanModelSource } from './scan-model-file.ts';
import type { ModelFileScan, StorageRecord, TorchCheckpoint } from './types.ts';
import { crc32OfRange } from './zip-data.ts';

export interface ConvertResult {
  path: string;
  tensorCount: number;
  fileSize: number;
  /** Scanner warnings (e.g. the PKL-R07a Lightning exception, CRC-less saves). */
  warnings: ScanWarning[];
  /** Tensors left out: those outside `state_dict` when the checkpoint has one (optimizer state, …). */
  dropped: string[];
}

function refuse(code: string, message: string, hint: string, details?: Record<string, unknown>): LorasmithError {
  return new LorasmithError({ code, message, hint, exitCode: 1, status: 422, ...(details === undefined ? {} : { details }) });
}

function refusalFor(scan: ModelFileScan): LorasmithError {
  const first = scan.findings[0];
  const reasons = scan.findings.slice(0, 5).map((finding) => finding.message);
  return refuse(
    `convert.${scan.verdict}`,
    `the file is ${scan.verdict}${first === undefined ? '' : `: ${reasons.join('; ')}`}`,
    scan.verdict === 'unsafe' ? 'Do not load this file anywhere; delete it.' : 'Only safe PyTorch checkpoints can be converted.',
    { findings: scan.findings },
  );
}

/**
 * Convert a safe PyTorch checkpoint (zip or legacy) to safetensors with our restricted reader (PKL-R15): it
 * re-scans the file itself, checks the CRC-32 of every zip record, copies each tensor's stored bytes (views
 * element by element) and writes through the atomic safetensors writer, which validates the output (§2) in
 * a temporary file before renaming it into place. Nothing is imported, executed or spawned.
 */
export async function convertToSafetensors(params: {
  inputPath: string;
  outputPath: string;
  metadata?: Readonly<Record<string, string>>;
  limits?: Partial<PickleLimits>;
}): Promise<ConvertResult> {
  const source = await openFileSource(params.inputPath);
  try {
    return await convertSource({ ...params, source });
  } finally {
    await source.close();
  }
}

/** `convertToSafetensors` on an open source (tests inject failing sources through it). */
export async function convertSource(params: {
  source: ByteSource;
  outputPath: string;
  metadata?: Readonly<Record<string, string>>;
  limits?: Partial<PickleLimits>;
}): Promise<ConvertResult> {
  const { source } = params;
  const scan = await scanModelSource({ source, limits: params.limits });
  if (scan.verdict !== 'safe') throw refusalFor(scan);
  if (scan.checkpoint === undefined) {
    throw refuse('convert.nothing_to_convert', scan.nothingToConvert ?? 'the file holds no tensors to convert', 'Nothing was written.');
  }
  const { checkpoint } = scan;
  await checkRecordCrcs({ source, checkpoint });
  const { tensors, dropped } = selectTensors(checkpoint);
  const storages = new Map(checkpoint.storages.map((storage) => [storage.key, storage]));
  const inputs = tensors.map(({ name, tensor }) => tensorInput({ source, storage: storages.get(tensor.storageKey), name, tensor }));
  const written = await writeSafetensors({ path: params.outputPath, tensors: inputs, metadata: { format: 'pt', ...params.metadata } });
  return { path: written.path, tensorCount: written.tensorCount, fileSize: written.fileSize, warnings: scan.warnings, dropped };
}

/** PKL-R05: `convert` reads the tensor data anyway, so it checks every record's CRC-32 (scan checks only the pickle). */
async function checkRecordCrcs(params: { source: ByteSource; checkpoint: TorchCheckpoint }): Promise<void> {
  for (const storage of params.checkpoint.storages) {
    if (storage.crc32 === undefined) continue;
    const actual = await crc32OfRange({ source: params.source, offset: storage.offset, length: storage.length });
    if (actual !== storage.crc32) {
      throw refuse('convert.invalid', `record ${storage.member ?? storage.key} fails its CRC-32 check`, 'The file is corrupt or was altered; download it again.', {
        code: 'zip.crc_mismatch',
      });
    }
  }
}

/**
 * Tensor names are their dict path joined with `.`. A checkpoint with a `state_dict` (Lightning, SD 1.x)
 * converts only that dict, without the prefix; everything else in it is reported as dropped.
 */
export function selectTensors(checkpoint: TorchCheckpoint): { tensors: Array<{ name: string; tensor: TensorDescription }>; dropped: string[] } {
  const hasStateDict = checkpoint.tensors.some((tensor) => tensor.path[0] === 'state_dict' && tensor.path.length > 1);
  const tensors: Array<{ name: string; tensor: TensorDescription }> = [];
  const dropped: string[] = [];
  const names = new Set<string>();
  for (const tensor of checkpoint.tensors) {
    const path = tensor.path.map(String);
    if (hasStateDict && path[0] !== 'state_dict') {
      dropped.push(path.join('.'));
      continue;
    }
    const name = (hasStateDict ? path.slice(1) : path).join('.');
    if (names.has(name)) {
      throw refuse('convert.name_conflict', `two tensors would both be named "${name}"`, 'The checkpoint nests tensors in a way that cannot be flattened; nothing was written.');
    }
    names.add(name);
    tensors.push({ name, tensor });
  }
  return { tensors, dropped };
}

function tensorInput(params: { source: ByteSource; storage: StorageRecord | undefined; name: string; tensor: TensorDescription }): SafetensorsTensorInput {
  const { tensor, name, storage } = params;
  const dtype = TORCH_DTYPES[tensor.dtype].safetensors;
  if (dtype === undefined || !isSafetensorsDtype(dtype)) {
    throw refuse('convert.dtype_unsupported', `tensor "${name}" has dtype ${tensor.dtype}, which safetensors cannot hold`, 'Nothing was written.');
  }
  if (storage === undefined) throw refuse('convert.invalid', `tensor "${name}" has no storage`, 'Nothing was written.');
  return { name, dtype, shape: tensor.size, data: readTensorBytes({ source: params.source, storage, tensor }) };
}
