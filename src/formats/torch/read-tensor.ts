import type { TensorDescription } from '../pickle/types.ts';
import { TORCH_DTYPES } from '../pickle/torch-dtypes.ts';
import type { ByteSource } from './byte-source.ts';
import type { StorageRecord } from './types.ts';

const CHUNK = 8 * 1024 * 1024;

/** Row-major (C order) layout: the bytes are one slice of the storage. Size-1 dimensions may have any stride. */
function isContiguous(size: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = size.length - 1; i >= 0; i--) {
    const n = size[i] as number;
    if (n !== 1 && stride[i] !== expected) return false;
    expected *= n;
  }
  return true;
}

/**
 * The tensor's values, C order, as stored (little-endian): a contiguous tensor streams its slice of the
 * storage; a strided view is copied element by element (PKL-R15). The scanner has already proven the view
 * lies inside the storage (PKL-R18); the checks here only guard the reader against a mismatched description.
 */
export async function* readTensorBytes(params: { source: ByteSource; storage: StorageRecord; tensor: TensorDescription }): AsyncGenerator<Uint8Array> {
  const { source, storage, tensor } = params;
  const elementSize = TORCH_DTYPES[tensor.dtype].elementSize;
  const numel = tensor.size.reduce((product, n) => product * n, 1);
  if (numel === 0) return;
  let last = tensor.storageOffset;
  tensor.size.forEach((n, i) => {
    last += (n - 1) * (tensor.stride[i] ?? 0);
  });
  const spanStart = tensor.storageOffset * elementSize;
  const spanEnd = (last + 1) * elementSize;
  if (spanEnd > storage.length) throw new RangeError(`tensor view reaches past storage "${storage.key}"`);

  if (isContiguous(tensor.size, tensor.stride)) {
    const length = numel * elementSize;
    for (let done = 0; done < length; done += CHUNK) {
      yield await source.read(storage.offset + spanStart + done, Math.min(CHUNK, length - done));
    }
    return;
  }
  const span = await source.read(storage.offset + spanStart, spanEnd - spanStart);
  const rank = tensor.size.length;
  const index = new Array<number>(rank).fill(0);
  const perChunk = Math.max(1, Math.floor(CHUNK / elementSize));
  let position = 0; // element offset from the start of the span
  let remaining = numel;
  while (remaining > 0) {
    const count = Math.min(perChunk, remaining);
    const out = new Uint8Array(count * elementSize);
    for (let k = 0; k < count; k++) {
      const from = position * elementSize;
      out.set(span.subarray(from, from + elementSize), k * elementSize);
      // Advance the multi-index like an odometer, moving `position` by each dimension's stride.
      for (let d = rank - 1; d >= 0; d--) {
        const stride = tensor.stride[d] as number;
        if ((index[d] as number) + 1 < (tensor.size[d] as number)) {
          index[d] = (index[d] as number) + 1;
          position += stride;
          break;
        }
        position -= ((tensor.size[d] as number) - 1) * stride;
        index[d] = 0;
      }
    }
    remaining -= count;
    yield out;
  }
}
