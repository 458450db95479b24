import type { TensorDescription, TensorPathSegment } from './types.ts';
import { spend } from './values.ts';
import type { PValue, VisitMeter } from './values.ts';

/**
 * Every tensor reachable from a checkpoint's root through dict values and list/tuple items, with its name
 * path (`["state_dict", "model.weight"]`). Each container is walked once, so a container shared through the
 * memo cannot multiply the work; a tensor stored under two names is listed under both.
 */
export function collectTensors(params: { root: PValue; meter: VisitMeter; offset: number }): TensorDescription[] {
  const out: TensorDescription[] = [];
  const seen = new Set<PValue>();
  const pending: Array<{ value: PValue; path: TensorPathSegment[] }> = [{ value: params.root, path: [] }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    spend(params.meter, 1, params.offset);
    const { value, path } = next;
    if (value.kind === 'tensor') {
      const t = value.tensor;
      out.push({
        path,
        storageKey: t.storage.key,
        dtype: t.dtype,
        storageOffset: Number(t.offset),
        size: t.size.map(Number),
        stride: t.stride.map(Number),
        requiresGrad: t.requiresGrad,
        isParameter: t.isParameter,
      });
      continue;
    }
    if (value.kind !== 'dict' && value.kind !== 'list' && value.kind !== 'tuple') continue;
    if (seen.has(value)) continue;
    seen.add(value);
    const children: Array<{ value: PValue; path: TensorPathSegment[] }> = [];
    // Each child copies the path: charge it, so a deeply nested chain cannot make the walk quadratic for free.
    spend(params.meter, path.length * (value.kind === 'dict' ? value.entries.size : value.items.length), params.offset);
    if (value.kind === 'dict') {
      for (const entry of value.entries.values()) children.push({ value: entry.value, path: [...path, segment(entry.key)] });
    } else {
      value.items.forEach((item, index) => children.push({ value: item, path: [...path, index] }));
    }
    // Reversed onto the stack so tensors come out in the file's order.
    for (let i = children.length - 1; i >= 0; i--) pending.push(children[i] as { value: PValue; path: TensorPathSegment[] });
  }
  return out;
}

function segment(key: PValue): TensorPathSegment {
  switch (key.kind) {
    case 'str':
      return key.value;
    case 'int':
      return key.value >= BigInt(Number.MIN_SAFE_INTEGER) && key.value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(key.value) : String(key.value);
    case 'bool':
      return key.value ? 1 : 0;
    case 'float':
      return String(key.value);
    case 'global':
      return key.ref.dotted;
    case 'none':
      return 'None';
    default:
      return `<${key.kind}>`;
  }
}
