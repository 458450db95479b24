import { gunzipSync, inflateSync } from 'node:zlib';
import { isLorasmithError } from '../../core/errors.ts';
import { DETECT_HEAD_BYTES, detectFormat } from '../detect.ts';
import type { DetectedFormat } from '../detect.ts';
import { resolvePickleLimits, runRawPickle } from '../pickle/scan-pickle.ts';
import type { Finding, PickleLimits } from '../pickle/types.ts';
import { bufferSource, openFileSource } from './byte-source.ts';
import type { ByteSource } from './byte-source.ts';
import { scanNpy, scanNpz } from './scan-numpy.ts';
import { LEGACY_MAGIC, scanTorchLegacy } from './scan-torch-legacy.ts';
import { isTorchScriptRecord, scanTorchZip, torchZipRoot } from './scan-torch-zip.ts';
import type { ModelFileFormat, ModelFileScan } from './types.ts';
import { readZipListing } from './zip-records.ts';
import type { ZipListing } from './zip-records.ts';

const RAW_PICKLE_NOTHING = 'a raw pickle holds no tensor data, so there is nothing to convert';

function rejected(format: ModelFileFormat, finding: Finding): ModelFileScan {
  return { verdict: finding.verdict, format, findings: [finding], warnings: [], visits: 0 };
}

/** Formats that are not pickle containers at all; another validator (or none) handles them. */
const OTHER_FORMATS: Partial<Record<DetectedFormat, { format: ModelFileFormat; message: string }>> = {
  '7z': { format: 'archive', message: 'a 7z archive is not scanned' },
  tar: { format: 'archive', message: 'a tar archive (including the torch 0.1.x layout) is not scanned' },
  bz2: { format: 'compressed', message: 'bzip2-compressed files are not opened' },
  xz: { format: 'compressed', message: 'xz-compressed files are not opened' },
  lzma: { format: 'compressed', message: 'lzma-compressed files are not opened' },
  lz4: { format: 'compressed', message: 'lz4-compressed files are not opened' },
  zstd: { format: 'compressed', message: 'zstd-compressed files are not opened' },
  'joblib-zf': { format: 'compressed', message: 'old joblib (ZF) compressed files are not opened' },
  safetensors: { format: 'safetensors', message: 'a safetensors file: use the safetensors validator' },
  gguf: { format: 'gguf', message: 'a GGUF file: use the GGUF validator' },
  onnx: { format: 'onnx', message: 'an ONNX model is not a pickle container' },
};

/**
 * Scan a model file of any pickle-based kind (PKL-R03, R04): the content decides the container; every pickle
 * stream goes through the same static scanner; containers add their structure checks. Never throws for bad
 * input: every failure is a finding, and an internal error is reported as `invalid`, never as safe.
 */
export async function scanModelFile(params: { path: string; limits?: Partial<PickleLimits> }): Promise<ModelFileScan> {
  const source = await openFileSource(params.path);
  try {
    return await scanModelSource({ source, limits: params.limits });
  } finally {
    await source.close();
  }
}

export async function scanModelSource(params: { source: ByteSource; limits?: Partial<PickleLimits> }): Promise<ModelFileScan> {
  const limits = resolvePickleLimits(params.limits);
  try {
    return await dispatch({ source: params.source, limits, nested: false });
  } catch (error) {
    const finding: Finding = isLorasmithError(error)
      ? { verdict: 'invalid', code: error.code, message: error.message }
      : { verdict: 'invalid', code: 'scan.internal_error', message: 'the scanner failed on this input; it is refused' };
    return rejected('pickle', finding);
  }
}

async function dispatch(params: { source: ByteSource; limits: PickleLimits; nested: boolean }): Promise<ModelFileScan> {
  const { source, limits, nested } = params;
  const head = await source.read(0, Math.min(DETECT_HEAD_BYTES, source.size));
  const detected = detectFormat({ head, fileSize: source.size });
  const other = OTHER_FORMATS[detected];
  if (other !== undefined) return rejected(other.format, { verdict: 'unsupported', code: 'format.unsupported', message: other.message, requirement: 'PKL-R04' });
  switch (detected) {
    case 'zip':
      if (nested) return rejected('zip', { verdict: 'unsupported', code: 'format.nested_archive', message: 'an archive inside a compressed file is not opened' });
      return scanZip({ source, limits });
    case 'npy':
      return scanNpy({ source, limits });
    case 'gzip':
    case 'zlib':
      if (nested) return rejected(detected, { verdict: 'unsupported', code: 'format.nested_compression', message: 'compression inside compression is not opened' });
      return scanCompressed({ source, limits, format: detected });
    default:
      return scanPickleStream({ source, limits });
  }
}

async function scanZip(params: { source: ByteSource; limits: PickleLimits }): Promise<ModelFileScan> {
  let listing: ZipListing;
  try {
    listing = await readZipListing({ source: params.source });
  } catch (error) {
    if (!isLorasmithError(error)) throw error;
    return rejected('zip', { verdict: 'invalid', code: error.code, message: error.message, requirement: 'PKL-R05' });
  }
  const root = torchZipRoot(listing);
  const isTorch =
    root !== undefined &&
    listing.entries.some((entry) => {
      const record = entry.name.slice(root.length + 1);
      return entry.name.startsWith(`${root}/`) && (record === 'data.pkl' || isTorchScriptRecord(record));
    });
  if (isTorch) return scanTorchZip({ ...params, listing });
  if (listing.entries.length > 0 && listing.entries.every((entry) => entry.name.endsWith('.npy'))) return scanNpz({ ...params, listing });
  return rejected('zip', {
    verdict: 'unsupported',
    code: 'format.unsupported',
    message: 'a zip that is neither a PyTorch checkpoint nor an .npz',
    requirement: 'PKL-R04',
  });
}

/** gzip- or zlib-wrapped pickles (joblib): decompressed bytes count against the pickle size limit (PKL-R11). */
async function scanCompressed(params: { source: ByteSource; limits: PickleLimits; format: 'gzip' | 'zlib' }): Promise<ModelFileScan> {
  const { source, limits, format } = params;
  if (source.size > limits.maxPickleBytes) {
    return rejected(format, { verdict: 'invalid', code: 'pickle.limit_size', message: 'the compressed file is over the pickle size limit', requirement: 'PKL-R11' });
  }
  const compressed = await source.read(0, source.size);
  let bytes: Uint8Array;
  try {
    const options = { maxOutputLength: limits.maxPickleBytes };
    bytes = format === 'gzip' ? gunzipSync(compressed, options) : inflateSync(compressed, options);
  } catch (error) {
    const tooBig = error instanceof RangeError || (error instanceof Error && 'code' in error && error.code === 'ERR_BUFFER_TOO_LARGE');
    return rejected(format, {
      verdict: 'invalid',
      code: tooBig ? 'pickle.limit_size' : `${format}.corrupt`,
      message: tooBig ? 'the file decompresses past the pickle size limit' : `the ${format} stream is corrupt`,
      requirement: tooBig ? 'PKL-R11' : 'PKL-R12',
    });
  }
  const inner = await dispatch({ source: bufferSource(bytes), limits, nested: true });
  const { checkpoint: _dropped, ...rest } = inner;
  return {
    ...rest,
    format,
    ...(inner.verdict === 'safe' ? { nothingToConvert: `a ${format}-wrapped file is scanned, not converted: decompress it first` } : {}),
  };
}

async function scanPickleStream(params: { source: ByteSource; limits: PickleLimits }): Promise<ModelFileScan> {
  const { source, limits } = params;
  const prefix = await source.read(0, Math.min(source.size, limits.maxPickleBytes));
  const first = runRawPickle({ bytes: prefix, totalLength: source.size, limits });
  if (first.root?.kind === 'int' && first.root.value === LEGACY_MAGIC) {
    return scanTorchLegacy({
      source,
      prefix,
      magicEnd: first.end,
      meter: first.meter,
      limits,
      findings: first.scan.findings.filter((finding) => finding.code !== 'pickle.trailing_bytes'),
      warnings: first.scan.warnings,
    });
  }
  const { scan } = first;
  return {
    verdict: scan.verdict,
    format: 'pickle',
    findings: scan.findings,
    warnings: scan.warnings,
    visits: scan.visits,
    ...(scan.verdict === 'safe' ? { nothingToConvert: RAW_PICKLE_NOTHING } : {}),
  };
}
