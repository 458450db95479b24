import { TORCH_DTYPES, isTorchDtype } from './torch-dtypes.ts';
import type { Rejection, TorchDtype } from './types.ts';
import { REJECTED } from './values.ts';
import type { PValue, StorageRef, TensorValue } from './values.ts';

export interface Reporter {
  reject(params: { verdict: Rejection; code: string; message: string; requirement?: string; offset: number }): void;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MAX_RANK = 64;

function intTuple(value: PValue | undefined): bigint[] | undefined {
  if (value?.kind !== 'tuple' || value.items.length > MAX_RANK) return undefined;
  const out: bigint[] = [];
  for (const item of value.items) {
    if (item.kind !== 'int') return undefined;
    out.push(item.value);
  }
  return out;
}

function rejectMalformed(reporter: Reporter, version: 'v2' | 'v3', why: string, offset: number): PValue {
  reporter.reject({
    verdict: 'invalid',
    code: 'tensor.rebuild_shape',
    message: `_rebuild_tensor_${version} called with ${why}`,
    requirement: 'PKL-R17',
    offset,
  });
  return REJECTED;
}

function anyAbove(values: readonly bigint[], limit: bigint): boolean {
  for (const n of values) if (n > limit) return true;
  return false;
}

function isEmptyOrderedDict(value: PValue | undefined): boolean {
  return value?.kind === 'dict' && value.flavor === 'OrderedDict' && value.entries.size === 0;
}

/** `torch.<dtype>` as pushed by GLOBAL. */
function dtypeArgument(value: PValue | undefined): TorchDtype | undefined {
  if (value?.kind !== 'global' || value.ref.role !== 'allowed' || value.ref.module !== 'torch') return undefined;
  return isTorchDtype(value.ref.name) ? value.ref.name : undefined;
}

/**
 * `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])` and
 * `_rebuild_tensor_v3(…, backward_hooks, dtype[, metadata])`: torch's argument shapes (PKL-R17), then the
 * view must lie inside its storage, in BigInt (PKL-R18).
 */
export function rebuildTensor(params: { version: 'v2' | 'v3'; args: readonly PValue[]; offset: number; reporter: Reporter }): PValue {
  const { version, args, offset, reporter } = params;
  const malformed = (why: string): PValue => rejectMalformed(reporter, version, why, offset);
  const base = version === 'v2' ? 6 : 7;
  if (args.length !== base && args.length !== base + 1) return malformed(`${args.length} arguments`);
  for (const arg of args) if (arg.kind === 'rejected') return REJECTED;
  const storageArg = args[0];
  const offsetArg = args[1];
  const sizeArg = args[2];
  const strideArg = args[3];
  const gradArg = args[4];
  const hooksArg = args[5];
  if (storageArg?.kind !== 'storage') return malformed('a first argument that is not a storage');
  const storage = storageArg.storage;
  if (offsetArg?.kind !== 'int') return malformed('a storage offset that is not an int');
  const size = intTuple(sizeArg);
  const stride = intTuple(strideArg);
  if (size === undefined || stride === undefined || size.length !== stride.length) {
    return malformed('size and stride that are not int tuples of equal length');
  }
  if (gradArg?.kind !== 'bool') return malformed('requires_grad that is not a bool');
  if (!isEmptyOrderedDict(hooksArg)) return malformed('backward_hooks that are not an empty OrderedDict');

  let dtype: TorchDtype;
  if (version === 'v2') {
    if (storage.dtype === undefined) return malformed('an UntypedStorage (v2 needs a typed storage)');
    dtype = storage.dtype;
  } else {
    const named = dtypeArgument(args[6]);
    if (named === undefined) return malformed('a dtype argument that is not a torch dtype');
    if (storage.dtype !== undefined) return malformed('a typed storage (v3 needs UntypedStorage)');
    dtype = named;
  }
  const metadata = args[base];
  if (metadata !== undefined) {
    if (metadata.kind !== 'dict') return malformed('metadata that is not a dict');
    if (metadata.entries.size > 0) {
      // Tensor metadata (e.g. conj/neg bits) changes what the bytes mean; the reader copies bytes only.
      reporter.reject({
        verdict: 'unsupported',
        code: 'tensor.metadata',
        message: 'a tensor carries rebuild metadata the reader does not support',
        requirement: 'PKL-R17',
        offset,
      });
      return REJECTED;
    }
  }
  if (!viewInBounds({ storage, elementSize: TORCH_DTYPES[dtype].elementSize, offset: offsetArg.value, size, stride })) {
    reporter.reject({
      verdict: 'unsafe',
      code: 'tensor.out_of_bounds',
      message: `a tensor view (offset ${offsetArg.value}, size (${size.join(', ')}), stride (${stride.join(', ')})) reaches outside its storage "${storage.key}"`,
      requirement: 'PKL-R18',
      offset,
    });
    return REJECTED;
  }
  if (offsetArg.value > MAX_SAFE || anyAbove(size, MAX_SAFE) || anyAbove(stride, MAX_SAFE)) {
    return malformed('an offset, size or stride above 2^53');
  }
  const tensor: TensorValue = {
    storage,
    dtype,
    offset: offsetArg.value,
    size,
    stride,
    requiresGrad: gradArg.value,
    isParameter: false,
  };
  return { kind: 'tensor', tensor };
}

/**
 * PKL-R18: offset, sizes and strides ≥ 0, and unless the view is empty,
 * (offset + Σ (size_i − 1)·stride_i + 1) × element_size ≤ the storage's bytes.
 */
export function viewInBounds(params: {
  storage: StorageRef;
  elementSize: number;
  offset: bigint;
  size: readonly bigint[];
  stride: readonly bigint[];
}): boolean {
  const { offset, size, stride } = params;
  if (offset < 0n) return false;
  for (const n of size) if (n < 0n) return false;
  for (const n of stride) if (n < 0n) return false;
  for (const n of size) if (n === 0n) return true;
  let last = offset;
  for (let i = 0; i < size.length; i++) last += ((size[i] as bigint) - 1n) * (stride[i] ?? 0n);
  const storageBytes = params.storage.numel * BigInt(params.storage.elementSize);
  return (last + 1n) * BigInt(params.elementSize) <= storageBytes;
}

/** `_rebuild_parameter(data, requires_grad, backward_hooks)` (PKL-R17). */
export function rebuildParameter(params: { args: readonly PValue[]; offset: number; reporter: Reporter }): PValue {
  const { args, offset, reporter } = params;
  if (args.some((arg) => arg.kind === 'rejected')) return REJECTED;
  const [data, grad, hooks] = args;
  if (args.length !== 3 || data?.kind !== 'tensor' || grad?.kind !== 'bool' || !isEmptyOrderedDict(hooks)) {
    reporter.reject({
      verdict: 'invalid',
      code: 'tensor.rebuild_shape',
      message: '_rebuild_parameter called with arguments other than (tensor, bool, empty OrderedDict)',
      requirement: 'PKL-R17',
      offset,
    });
    return REJECTED;
  }
  return { kind: 'tensor', tensor: { ...data.tensor, requiresGrad: grad.value, isParameter: true } };
}
