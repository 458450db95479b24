import { LorasmithError } from '../../core/errors.ts';
import { SAFETENSORS_DTYPE_BITS, isSafetensorsDtype, tensorByteLength } from './dtypes.ts';
import type { SafetensorsDtype } from './dtypes.ts';
import { quoteForMessage } from './strict-json.ts';
import type { SafetensorsTensorInfo, SafetensorsValidateOptions } from './types.ts';
import { validateSafetensorsHeader } from './validate.ts';

export interface SafetensorsTensorSpec {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
}

export interface EncodedSafetensorsHeader<T extends SafetensorsTensorSpec = SafetensorsTensorSpec> {
  /** The 8-byte little-endian length followed by the header, padded with spaces to a multiple of 8. */
  prefix: Uint8Array;
  /** Tensors in file order, each with the input it came from. */
  layout: Array<SafetensorsTensorInfo & { tensor: T }>;
  /** Size of the whole file: prefix + data buffer. */
  fileSize: number;
}

/**
 * Lay out tensors and encode the header. The order is deterministic: wider dtypes first, then by name, so
 * with the header padded to 8 bytes every tensor starts aligned to its element size (the reference's dtype
 * order is increasing alignment). The result is checked by our own validator before anyone writes it.
 */
export function encodeSafetensorsHeader<T extends SafetensorsTensorSpec>(
  params: { tensors: readonly T[]; metadata?: Readonly<Record<string, string>> } & SafetensorsValidateOptions,
): EncodedSafetensorsHeader<T> {
  const order = params.tensors.map((tensor) => ({ tensor, bytes: byteLength(tensor) }));
  order.sort(
    (a, b) =>
      SAFETENSORS_DTYPE_BITS[b.tensor.dtype] - SAFETENSORS_DTYPE_BITS[a.tensor.dtype] ||
      (a.tensor.name < b.tensor.name ? -1 : a.tensor.name > b.tensor.name ? 1 : 0),
  );

  const entries: string[] = [];
  const metadata = params.metadata ?? {};
  const metadataKeys = Object.keys(metadata).sort();
  if (metadataKeys.length > 0) {
    entries.push(`"__metadata__":{${metadataKeys.map((key) => `${JSON.stringify(key)}:${JSON.stringify(metadata[key])}`).join(',')}}`);
  }
  const layout: EncodedSafetensorsHeader<T>['layout'] = [];
  let offset = 0;
  for (const { tensor, bytes } of order) {
    const end = offset + bytes;
    layout.push({ name: tensor.name, dtype: tensor.dtype, shape: [...tensor.shape], begin: offset, end, tensor });
    entries.push(`${JSON.stringify(tensor.name)}:{"dtype":"${tensor.dtype}","shape":[${tensor.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }

  const json = Buffer.from(`{${entries.join(',')}}`, 'utf8');
  const headerLength = Math.ceil(json.length / 8) * 8;
  const prefix = Buffer.alloc(8 + headerLength, 0x20);
  prefix.writeBigUInt64LE(BigInt(headerLength), 0);
  json.copy(prefix, 8);
  const fileSize = prefix.length + offset;

  const check = validateSafetensorsHeader({ ...params, headerBytes: prefix.subarray(8), fileSize });
  if (!check.ok) {
    throw new LorasmithError({
      code: 'safetensors.write_invalid',
      message: `refusing to write an invalid safetensors file: ${check.reason.message}`,
      hint: 'Fix the tensor names, dtypes, shapes or metadata listed above; the written file must pass the validator.',
      details: { reason: check.reason.code },
    });
  }
  return { prefix, layout, fileSize };
}

function byteLength(tensor: SafetensorsTensorSpec): number {
  const label = `tensor ${quoteForMessage(tensor.name)}`;
  if (!isSafetensorsDtype(tensor.dtype)) {
    throw invalidTensor(`${label} has an unknown dtype ${quoteForMessage(String(tensor.dtype))}`);
  }
  if (!tensor.shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) {
    throw invalidTensor(`${label} has a shape that is not a list of non-negative integers`);
  }
  const bytes = tensorByteLength(tensor.dtype, tensor.shape);
  if (bytes === undefined || bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw invalidTensor(`${label}: ${tensor.dtype} × [${tensor.shape.join(', ')}] is not a whole number of bytes below 2^53`);
  }
  return Number(bytes);
}

function invalidTensor(message: string): LorasmithError {
  return new LorasmithError({
    code: 'safetensors.write_invalid',
    message: `refusing to write an invalid safetensors file: ${message}`,
    hint: 'Give every tensor a safetensors dtype and a shape whose bit count is a multiple of 8.',
  });
}
