import { PickleParseError } from './read-op.ts';
import type { TorchDtype } from './types.ts';

/**
 * The modelled values of the scanner's stack and memo (PKL-R08, R10). Containers are shared by reference, as
 * in CPython, so a memo `GET` followed by `APPEND` mutates the one list both names point to. Nothing here is
 * ever executed; an allowlisted call yields a description of what torch would build.
 */

/** Why a global is on the stack: allowlisted, or one of the PKL-R07a Lightning-checkpoint exceptions. */
export type GlobalRole = 'allowed' | 'lightning-class' | 'numpy-scalar' | 'numpy-dtype';

export interface GlobalRef {
  module: string;
  name: string;
  /** `module.name` after renaming. */
  dotted: string;
  role: GlobalRole;
}

export interface StorageRef {
  key: string;
  storageClass: string;
  dtype: TorchDtype | undefined;
  elementSize: number;
  numel: bigint;
  location: string;
}

export interface TensorValue {
  storage: StorageRef;
  dtype: TorchDtype;
  offset: bigint;
  size: bigint[];
  stride: bigint[];
  requiresGrad: boolean;
  isParameter: boolean;
}

export interface DictEntry {
  key: PValue;
  value: PValue;
}

export type DictFlavor = 'dict' | 'OrderedDict' | 'Counter';

export type PValue =
  | { kind: 'none' }
  | { kind: 'bool'; value: boolean }
  | { kind: 'int'; value: bigint }
  | { kind: 'float'; value: number }
  | { kind: 'complex' }
  | { kind: 'str'; value: string }
  | { kind: 'bytes'; value: Uint8Array; mutable: boolean }
  /** `special`: holds a PKL-R07a numpy dtype, so it may only be the argument tuple of `scalar`. */
  | { kind: 'tuple'; items: PValue[]; special: boolean }
  | { kind: 'list'; items: PValue[] }
  | { kind: 'dict'; flavor: DictFlavor; entries: Map<string, DictEntry> }
  | { kind: 'set'; frozen: boolean }
  | { kind: 'global'; ref: GlobalRef }
  | { kind: 'storage'; storage: StorageRef }
  | { kind: 'tensor'; tensor: TensorValue }
  | { kind: 'numpy-dtype'; code: string }
  | { kind: 'numpy-scalar'; code: string; bytes: Uint8Array }
  /** Result of an allowlisted call the reader does not model further (e.g. `torch.device`). */
  | { kind: 'object'; className: string }
  /** Result of an operation already reported as a finding; scanning goes on to find more. */
  | { kind: 'rejected' };

export const NONE: PValue = Object.freeze({ kind: 'none' });
export const REJECTED: PValue = Object.freeze({ kind: 'rejected' });

/** Counts the scanner's unit steps; past the limit the scan stops as `invalid`, so work is bounded by input size. */
export interface VisitMeter {
  visits: number;
  limit: number;
}

export function spend(meter: VisitMeter, count: number, offset: number): void {
  meter.visits += count;
  if (meter.visits > meter.limit) {
    throw new PickleParseError('pickle.limit_work', `the scan exceeded its work bound (${meter.limit} steps)`, offset);
  }
}

export function describeKind(value: PValue): string {
  switch (value.kind) {
    case 'global':
      return `global ${value.ref.dotted}`;
    case 'dict':
      return value.flavor;
    case 'object':
      return value.className;
    default:
      return value.kind;
  }
}

/** The `dictKey` of a str key, for looking entries up by name. */
export function stringKey(value: string): string {
  return `s:${value}`;
}

const identities = new WeakMap<object, number>();
let nextIdentity = 1;

function identityKey(value: object): string {
  let id = identities.get(value);
  if (id === undefined) {
    id = nextIdentity++;
    identities.set(value, id);
  }
  return `#${id}`;
}

/**
 * The key a Python dict would use for `value`, or `undefined` if it is unhashable (CPython raises
 * TypeError). Equal numbers share a key (`1`, `1.0` and `True`), strings and bytes compare by value,
 * tuples by their items; other hashable objects by identity, as their default `__hash__` does.
 */
export function dictKey(value: PValue, meter: VisitMeter, offset: number, depth = 0): string | undefined {
  spend(meter, 1, offset);
  switch (value.kind) {
    case 'none':
      return 'N';
    case 'bool':
      return value.value ? 'n:1' : 'n:0';
    case 'int':
      return `n:${value.value}`;
    case 'float':
      return Number.isInteger(value.value) ? `n:${BigInt(value.value)}` : `f:${value.value}`;
    case 'str':
      // Hashing a key costs its length: charge for it, or a reused 1 MiB key would make work unbounded.
      spend(meter, value.value.length >> 6, offset);
      return stringKey(value.value);
    case 'bytes':
      if (value.mutable) return undefined;
      spend(meter, value.value.length >> 6, offset);
      return `b:${Buffer.from(value.value).toString('latin1')}`;
    case 'tuple': {
      if (depth > 32) return undefined;
      const parts: string[] = [];
      for (const item of value.items) {
        const part = dictKey(item, meter, offset, depth + 1);
        if (part === undefined) return undefined;
        parts.push(part);
      }
      return `t:(${parts.join(',')})`;
    }
    case 'list':
    case 'dict':
      return undefined;
    case 'set':
      return value.frozen ? identityKey(value) : undefined;
    case 'global':
      return `g:${value.ref.dotted}`;
    default:
      return identityKey(value);
  }
}
