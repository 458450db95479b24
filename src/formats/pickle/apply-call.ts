import { rebuildParameter, rebuildTensor } from './rebuild-tensor.ts';
import type { Reporter } from './rebuild-tensor.ts';
import { REJECTED } from './values.ts';
import type { GlobalRef, PValue } from './values.ts';

/**
 * What an allowlisted callable would return, modelled (PKL-R08, R17). Only the calls a torch checkpoint needs
 * are modelled; any other allowlisted callable (sparse, quantized, nested, subclass rebuilds …) is safe in
 * torch's sense but beyond the reader, so the file is `unsupported` rather than half-described.
 */
export function applyAllowedCall(params: { callee: GlobalRef; args: readonly PValue[]; offset: number; reporter: Reporter }): PValue {
  const { callee, args, offset, reporter } = params;
  const unsupported = (): PValue => {
    reporter.reject({
      verdict: 'unsupported',
      code: 'pickle.call_unsupported',
      message: `${callee.dotted} is allowlisted, but the reader does not support calling it with these arguments`,
      offset,
    });
    return REJECTED;
  };
  if (args.some((arg) => arg.kind === 'rejected')) return REJECTED;
  const [first, second] = args;
  switch (callee.dotted) {
    case 'torch._utils._rebuild_tensor_v2':
      return rebuildTensor({ version: 'v2', args, offset, reporter });
    case 'torch._utils._rebuild_tensor_v3':
      return rebuildTensor({ version: 'v3', args, offset, reporter });
    case 'torch._utils._rebuild_parameter':
      return rebuildParameter({ args, offset, reporter });
    case 'torch._tensor._rebuild_from_type_v2':
      return rebuildFromType({ args, offset, reporter }) ?? unsupported();
    case 'collections.OrderedDict':
    case 'collections.Counter':
      if (args.length > 0) return unsupported();
      return { kind: 'dict', flavor: callee.name === 'Counter' ? 'Counter' : 'OrderedDict', entries: new Map() };
    case 'builtins.set':
      if (args.length === 0 || (args.length === 1 && (first?.kind === 'list' || first?.kind === 'tuple'))) {
        return { kind: 'set', frozen: false };
      }
      return unsupported();
    case 'builtins.bytearray':
    case '_codecs.encode': {
      const bytes = encodeBytes(args);
      if (bytes === undefined) return unsupported();
      return { kind: 'bytes', value: bytes, mutable: callee.dotted === 'builtins.bytearray' };
    }
    case 'builtins.complex':
      if (args.length <= 2 && args.every((arg) => arg.kind === 'int' || arg.kind === 'float' || arg.kind === 'bool')) {
        return { kind: 'complex' };
      }
      return unsupported();
    case 'torch.Size':
      if (args.length === 1 && first?.kind === 'tuple' && first.items.every((item) => item.kind === 'int')) return first;
      return unsupported();
    case 'torch.device':
      if (first?.kind === 'str' && (args.length === 1 || (args.length === 2 && second?.kind === 'int'))) {
        return { kind: 'object', className: 'torch.device' };
      }
      return unsupported();
    default:
      return unsupported();
  }
}

/** `cls.__new__(cls, *args)` for an allowlisted class: `Parameter(data[, requires_grad])` and empty dicts. */
export function applyAllowedNewobj(params: { cls: GlobalRef; args: readonly PValue[]; offset: number; reporter: Reporter }): PValue {
  const { cls, args } = params;
  if (args.some((arg) => arg.kind === 'rejected')) return REJECTED;
  const [data, grad] = args;
  if (cls.dotted === 'torch.nn.parameter.Parameter' && data?.kind === 'tensor' && args.length <= 2 && (grad === undefined || grad.kind === 'bool')) {
    return { kind: 'tensor', tensor: { ...data.tensor, requiresGrad: grad?.kind === 'bool' ? grad.value : true, isParameter: true } };
  }
  if ((cls.dotted === 'collections.OrderedDict' || cls.dotted === 'collections.Counter') && args.length === 0) {
    return { kind: 'dict', flavor: cls.name === 'Counter' ? 'Counter' : 'OrderedDict', entries: new Map() };
  }
  params.reporter.reject({
    verdict: 'unsupported',
    code: 'pickle.newobj_unsupported',
    message: `${cls.dotted} is allowlisted, but the reader does not support creating it with NEWOBJ`,
    offset: params.offset,
  });
  return REJECTED;
}

/** `_rebuild_from_type_v2(func, type, args, state)` around a plain rebuild, with no Python state. */
function rebuildFromType(params: { args: readonly PValue[]; offset: number; reporter: Reporter }): PValue | undefined {
  const [func, type, inner, state] = params.args;
  if (params.args.length !== 4 || func?.kind !== 'global' || type?.kind !== 'global' || inner?.kind !== 'tuple') return undefined;
  const rebuilds = ['torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_tensor_v3', 'torch._utils._rebuild_parameter'];
  if (func.ref.role !== 'allowed' || !rebuilds.includes(func.ref.dotted)) return undefined;
  const asParameter = type.ref.dotted === 'torch.nn.parameter.Parameter';
  if (type.ref.dotted !== 'torch.Tensor' && !asParameter) return undefined;
  if (!(state?.kind === 'none' || (state?.kind === 'dict' && state.entries.size === 0))) return undefined;
  const result = applyAllowedCall({ callee: func.ref, args: inner.items, offset: params.offset, reporter: params.reporter });
  if (result.kind !== 'tensor' || !asParameter) return result;
  return { kind: 'tensor', tensor: { ...result.tensor, isParameter: true } };
}

/** `_codecs.encode(str[, 'latin1'|'utf-8'])` and `bytearray(bytes | str, 'latin-1')`, as protocol 2 writes bytes. */
function encodeBytes(args: readonly PValue[]): Uint8Array | undefined {
  const [value, encoding] = args;
  if (args.length === 0) return new Uint8Array(0);
  if (value?.kind === 'bytes' && args.length === 1) return value.value.slice();
  if (value?.kind !== 'str' || args.length > 2) return undefined;
  const name = encoding === undefined ? 'utf-8' : encoding.kind === 'str' ? encoding.value.toLowerCase() : undefined;
  if (name === 'utf-8' || name === 'utf8') return new TextEncoder().encode(value.value);
  if (name !== 'latin1' && name !== 'latin-1') return undefined;
  const out = new Uint8Array(value.value.length);
  for (let i = 0; i < value.value.length; i++) {
    const code = value.value.charCodeAt(i);
    if (code > 0xff) return undefined;
    out[i] = code;
  }
  return out;
}
