import { SAFETENSORS_DTYPE_BITS, isSafetensorsDtype, tensorByteLength } from './dtypes.ts';
import type { SafetensorsDtype } from './dtypes.ts';
import { tensorNameProblem } from './names.ts';
import { checkHeaderLength, readSafetensorsHeader, readSafetensorsHeaderFromBuffer } from './read-header.ts';
import { parseStrictJson, quoteForMessage } from './strict-json.ts';
import type { JsonErrorCode, JsonNumber, JsonObject, JsonValue, WorkMeter } from './strict-json.ts';
import { resolveSafetensorsLimits } from './types.ts';
import type {
  SafetensorsLimits,
  SafetensorsRejection,
  SafetensorsRejectionCode,
  SafetensorsTensorInfo,
  SafetensorsValidateOptions,
  SafetensorsValidation,
  SafetensorsWarning,
} from './types.ts';

const JSON_TO_ST: Record<JsonErrorCode, SafetensorsRejectionCode> = {
  'json.bom': 'st.header_bom',
  'json.utf8': 'st.header_utf8',
  'json.syntax': 'st.json_syntax',
  'json.depth': 'st.json_depth',
  'json.duplicate_key': 'st.duplicate_key',
  'json.integer': 'st.integer',
};

const TENSOR_FIELDS = new Set(['dtype', 'shape', 'data_offsets']);
const METADATA_KEY = '__metadata__';

/** Thrown inside this module only; every exit converts it to `{ ok: false }`. */
class Rejected extends Error {
  readonly reason: SafetensorsRejection;
  constructor(reason: SafetensorsRejection) {
    super(reason.message);
    this.reason = reason;
  }
}

/**
 * The strict safetensors validator (model-file-security.md §2.4, ST-R01..ST-R07): stricter than the
 * reference, which accepts duplicate keys and leading whitespace. Never throws on bad input; every
 * refusal is `{ ok: false, reason }` with a stable code.
 */
export function validateSafetensorsHeader(
  params: { headerBytes: Uint8Array; fileSize: number | bigint } & SafetensorsValidateOptions,
): SafetensorsValidation {
  try {
    return validate(params);
  } catch (error) {
    if (error instanceof Rejected) return { ok: false, reason: error.reason };
    throw error;
  }
}

export function validateSafetensorsBuffer(params: { bytes: Uint8Array } & SafetensorsValidateOptions): SafetensorsValidation {
  const read = readSafetensorsHeaderFromBuffer({ bytes: params.bytes, maxHeaderBytes: params.limits?.maxHeaderBytes });
  if (!read.ok) return read;
  return validateSafetensorsHeader({ ...params, headerBytes: read.headerBytes, fileSize: read.fileSize });
}

/** Reads only the header (positional reads) and validates it against the file size. */
export async function validateSafetensorsFile(params: { path: string } & SafetensorsValidateOptions): Promise<SafetensorsValidation> {
  const read = await readSafetensorsHeader({ path: params.path, maxHeaderBytes: params.limits?.maxHeaderBytes });
  if (!read.ok) return read;
  return validateSafetensorsHeader({ ...params, headerBytes: read.headerBytes, fileSize: read.fileSize });
}

function reject(code: SafetensorsRejectionCode, message: string, offset?: number): never {
  throw new Rejected(offset === undefined ? { code, message } : { code, message, offset });
}

function validate(params: { headerBytes: Uint8Array; fileSize: number | bigint } & SafetensorsValidateOptions): SafetensorsValidation {
  const { headerBytes } = params;
  const limits = resolveSafetensorsLimits(params.limits);
  const meter = params.meter ?? { steps: 0 };
  const fileSize = BigInt(params.fileSize);
  const headerLength = headerBytes.length;
  const lengthProblem = checkHeaderLength({ headerLength: BigInt(headerLength), fileSize, maxHeaderBytes: limits.maxHeaderBytes });
  if (lengthProblem !== undefined) return { ok: false, reason: lengthProblem };
  // JSON offsets are relative to the header; users and tools count from the start of the file.
  const at = (jsonOffset: number): number => 8 + jsonOffset;

  const parsed = parseStrictJson(headerBytes, { maxDepth: limits.maxJsonDepth, numbers: 'safe-integers', meter });
  if (!parsed.ok) {
    const offset = at(parsed.error.offset);
    reject(JSON_TO_ST[parsed.error.code], `invalid header JSON at byte ${offset}: ${parsed.error.message}`, offset);
  }
  const root = parsed.value;
  if (root.kind !== 'object') reject('st.header_not_object', 'the header is not a JSON object', at(root.offset));

  const warnings: SafetensorsWarning[] = [];
  if (parsed.leadingWhitespace) {
    warnings.push({ code: 'st.leading_ws', message: 'the header starts with whitespace before "{" (accepted for compatibility)' });
  }

  let metadata: Record<string, string> = Object.create(null) as Record<string, string>;
  const tensors: SafetensorsTensorInfo[] = [];
  const unknownFields = params.unknownTensorFields ?? 'reject';
  // forEach, not for-of: no [key, value] pair is allocated per tensor.
  root.entries.forEach((value, key) => {
    meter.steps += 1;
    if (key === METADATA_KEY) {
      metadata = readMetadata(value, limits, at);
      return;
    }
    if (tensors.length >= limits.maxTensors) {
      reject('st.tensor_count', `the header lists more than ${limits.maxTensors} tensors`, at(value.offset));
    }
    tensors.push(readTensor({ name: key, value, limits, warnings, meter, at, unknownFields }));
  });

  checkLayout({ tensors, meter, dataStart: BigInt(8 + headerLength), fileSize });

  const bytesByDtype: Partial<Record<SafetensorsDtype, number>> = {};
  let totalBytes = 0;
  for (const tensor of tensors) {
    const size = tensor.end - tensor.begin;
    bytesByDtype[tensor.dtype] = (bytesByDtype[tensor.dtype] ?? 0) + size;
    totalBytes += size;
  }
  return {
    ok: true,
    header: { tensors, metadata, headerLength, dataStart: 8 + headerLength },
    warnings,
    stats: { tensorCount: tensors.length, bytesByDtype, totalBytes },
  };
}

/** ST-R04: an object of string → string within the size limits. */
function readMetadata(value: JsonValue, limits: SafetensorsLimits, at: (offset: number) => number): Record<string, string> {
  if (value.kind !== 'object') reject('st.metadata', '"__metadata__" is not an object of strings', at(value.offset));
  const metadata = Object.create(null) as Record<string, string>;
  let total = 0;
  for (const [key, entry] of value.entries) {
    if (entry.kind !== 'string') {
      reject('st.metadata', `"__metadata__" value ${quoteForMessage(key)} is not a string`, at(entry.offset));
    }
    const valueBytes = Buffer.byteLength(entry.value, 'utf8');
    if (valueBytes > limits.maxMetadataValueBytes) {
      reject('st.metadata', `"__metadata__" value ${quoteForMessage(key)} is ${valueBytes} bytes (limit ${limits.maxMetadataValueBytes})`, at(entry.offset));
    }
    total += Buffer.byteLength(key, 'utf8') + valueBytes;
    if (total > limits.maxMetadataBytes) {
      reject('st.metadata', `"__metadata__" is larger than ${limits.maxMetadataBytes} bytes`, at(entry.offset));
    }
    metadata[key] = entry.value;
  }
  return metadata;
}

/** ST-R05, ST-R07 and the per-tensor half of ST-R06. */
function readTensor(params: {
  name: string;
  value: JsonValue;
  limits: SafetensorsLimits;
  warnings: SafetensorsWarning[];
  meter: WorkMeter;
  at: (offset: number) => number;
  unknownFields: 'reject' | 'warn';
}): SafetensorsTensorInfo {
  const { name, value, limits, at } = params;
  // Built only for a message: quoting every name up front is a measurable share of a large header's cost.
  const label = (): string => `tensor ${quoteForMessage(name)}`;
  const nameProblem = tensorNameProblem(name, limits.maxNameBytes);
  if (nameProblem !== undefined) reject('st.tensor_name', `the name of ${label()} ${nameProblem}`, at(value.offset));
  if (value.kind !== 'object') reject('st.tensor_entry', `${label()} is not an object`, at(value.offset));

  if (value.entries.size !== TENSOR_FIELDS.size || !hasOnlyTensorFields(value)) {
    for (const key of value.entries.keys()) {
      if (TENSOR_FIELDS.has(key)) continue;
      const message = `${label()} has an unknown field ${quoteForMessage(key)}`;
      if (params.unknownFields === 'reject') reject('st.tensor_entry', message, at(value.offset));
      params.warnings.push({ code: 'st.extra_field', message });
    }
  }

  const dtypeNode = field(value, 'dtype', label, at);
  if (dtypeNode.kind !== 'string' || !isSafetensorsDtype(dtypeNode.value)) {
    reject('st.dtype', `${label()} has an unknown dtype ${dtypeNode.kind === 'string' ? quoteForMessage(dtypeNode.value) : ''}`.trimEnd(), at(dtypeNode.offset));
  }
  const dtype = dtypeNode.value;

  const shapeNode = field(value, 'shape', label, at);
  if (shapeNode.kind !== 'array') reject('st.shape', `${label()}: "shape" is not an array`, at(shapeNode.offset));
  if (shapeNode.items.length > limits.maxRank) {
    reject('st.shape', `${label()} has rank ${shapeNode.items.length} (limit ${limits.maxRank})`, at(shapeNode.offset));
  }
  const shape = integers(shapeNode.items, 'st.shape', label, '"shape"', params.meter, at);

  const offsetsNode = field(value, 'data_offsets', label, at);
  if (offsetsNode.kind !== 'array' || offsetsNode.items.length !== 2) {
    reject('st.offsets', `${label()}: "data_offsets" must be an array of exactly 2 integers`, at(offsetsNode.offset));
  }
  const offsets = integers(offsetsNode.items, 'st.offsets', label, '"data_offsets"', params.meter, at);
  const begin = offsets[0] ?? 0;
  const end = offsets[1] ?? 0;
  if (end < begin) reject('st.offsets', `${label()} ends (${end}) before it begins (${begin})`, at(offsetsNode.offset));

  // ST-R06 in exact arithmetic. Fast path: with every dimension ≥ 1 the running product only grows, so a
  // final product ≤ 2^53 − 1 was exact at every step; a 0 dimension makes it exactly 0. Anything else is
  // recomputed in BigInt.
  let bits: number = SAFETENSORS_DTYPE_BITS[dtype];
  for (let i = 0; i < shape.length; i++) bits *= shape[i] as number;
  if (bits <= Number.MAX_SAFE_INTEGER) {
    if (bits % 8 !== 0) {
      reject('st.misaligned', `${label()}: ${dtype} × shape [${shape.join(', ')}] is not a whole number of bytes`, at(shapeNode.offset));
    }
    if (end - begin !== bits / 8) {
      reject('st.size_mismatch', `${label()}: ${dtype} × shape [${shape.join(', ')}] is ${bits / 8} bytes, but data_offsets span ${end - begin}`, at(offsetsNode.offset));
    }
    return { name, dtype, shape, begin, end };
  }
  const bytes = tensorByteLength(dtype, shape);
  if (bytes === undefined) {
    reject('st.misaligned', `${label()}: ${dtype} × shape [${shape.join(', ')}] is not a whole number of bytes`, at(shapeNode.offset));
  }
  if (BigInt(end - begin) !== bytes) {
    reject('st.size_mismatch', `${label()}: ${dtype} × shape [${shape.join(', ')}] is ${bytes} bytes, but data_offsets span ${end - begin}`, at(offsetsNode.offset));
  }
  return { name, dtype, shape, begin, end };
}

/** With exactly as many keys as there are known fields, holding each known field means no unknown one. */
function hasOnlyTensorFields(entry: JsonObject): boolean {
  const { entries } = entry;
  return entries.has('dtype') && entries.has('shape') && entries.has('data_offsets');
}

function field(entry: JsonObject, name: string, label: () => string, at: (offset: number) => number): JsonValue {
  const node = entry.entries.get(name);
  if (node === undefined) reject('st.tensor_entry', `${label()} has no "${name}"`, at(entry.offset));
  return node;
}

/** The parser already guarantees numbers are integers in [0, 2^53 − 1]; this checks the kind. */
function integers(
  items: JsonValue[],
  code: SafetensorsRejectionCode,
  label: () => string,
  what: string,
  meter: WorkMeter,
  at: (offset: number) => number,
): number[] {
  for (let i = 0; i < items.length; i++) {
    meter.steps += 1;
    const item = items[i] as JsonValue;
    if (item.kind !== 'number') reject(code, `${label()}: ${what} holds a value that is not an integer`, at(item.offset));
  }
  // `map` allocates the exact length (a growing `push` array would over-allocate per tensor).
  return items.map((item) => (item as JsonNumber).value);
}

/** ST-R06: contiguous, non-overlapping, covering the buffer exactly (no holes, no polyglot tail). */
function checkLayout(params: { tensors: SafetensorsTensorInfo[]; meter: WorkMeter; dataStart: bigint; fileSize: bigint }): void {
  const { tensors, meter } = params;
  tensors.sort((a, b) => {
    meter.steps += 1;
    return a.begin - b.begin || a.end - b.end;
  });
  let previousEnd = 0;
  let previousName: string | undefined;
  for (const tensor of tensors) {
    meter.steps += 1;
    if (tensor.begin !== previousEnd) {
      const where = previousName === undefined ? 'the data buffer starts at 0' : `tensor ${quoteForMessage(previousName)} ends at ${previousEnd}`;
      const what = tensor.begin < previousEnd ? 'overlaps the previous tensor' : 'leaves a hole before it';
      reject('st.offsets', `tensor ${quoteForMessage(tensor.name)} begins at ${tensor.begin} and ${what} (${where})`);
    }
    previousEnd = tensor.end;
    previousName = tensor.name;
  }
  const expected = params.dataStart + BigInt(previousEnd);
  if (expected !== params.fileSize) {
    const detail =
      expected < params.fileSize
        ? `${params.fileSize - expected} bytes follow the last tensor`
        : `the tensors need ${expected - params.fileSize} bytes more than the file has`;
    reject('st.buffer_length', `the data buffer does not match the file size: ${detail}`, Number(expected < params.fileSize ? expected : params.fileSize));
  }
}
