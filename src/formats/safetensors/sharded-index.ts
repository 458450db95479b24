import { tensorNameProblem } from './names.ts';
import { parseStrictJson, quoteForMessage } from './strict-json.ts';

export interface ShardedIndexLimits {
  maxBytes: number;
  maxShards: number;
}

/** ST-R09 limits for `*.safetensors.index.json`. */
export const SHARDED_INDEX_LIMITS: Readonly<ShardedIndexLimits> = Object.freeze({ maxBytes: 10_000_000, maxShards: 10_000 });

const SHARD_NAME = /^[A-Za-z0-9._-]+\.safetensors$/;

export type ShardedIndexRejectionCode =
  | 'st_index.too_large'
  | 'st_index.json'
  | 'st_index.structure'
  | 'st_index.tensor_name'
  | 'st_index.shard_name'
  | 'st_index.too_many_shards'
  | 'st_index.missing_shard';

export interface ShardedIndex {
  /** Tensor name → shard file name (a bare file name, never a path). */
  weightMap: Map<string, string>;
  /** Distinct shard names, sorted. */
  shards: string[];
}

export type ShardedIndexValidation =
  | { ok: true; index: ShardedIndex }
  | { ok: false; reason: { code: ShardedIndexRejectionCode; message: string; offset?: number } };

/**
 * Validate a sharded-model index (ST-R09): `weight_map` values are bare file names matching
 * `^[A-Za-z0-9._-]+\.safetensors$`, each present in the same repo revision (`revisionFiles`, the file
 * names the caller listed for that revision); ≤ 10,000 shards; JSON ≤ 10 MB, parsed strictly. Each
 * shard is then validated as a safetensors file by the caller.
 */
export function validateShardedIndex(params: {
  bytes: Uint8Array;
  revisionFiles: Iterable<string>;
  limits?: Partial<ShardedIndexLimits>;
}): ShardedIndexValidation {
  const limits = { ...SHARDED_INDEX_LIMITS, ...params.limits };
  if (params.bytes.length > limits.maxBytes) {
    return fail('st_index.too_large', `the index is ${params.bytes.length} bytes (limit ${limits.maxBytes})`);
  }
  const parsed = parseStrictJson(params.bytes);
  if (!parsed.ok) return fail('st_index.json', `invalid index JSON at byte ${parsed.error.offset}: ${parsed.error.message}`, parsed.error.offset);
  const root = parsed.value;
  const map = root.kind === 'object' ? root.entries.get('weight_map') : undefined;
  if (map?.kind !== 'object') return fail('st_index.structure', 'the index has no "weight_map" object');

  const available = new Set(params.revisionFiles);
  const weightMap = new Map<string, string>();
  const shards = new Set<string>();
  for (const [tensor, file] of map.entries) {
    const nameProblem = tensorNameProblem(tensor);
    if (nameProblem !== undefined) return fail('st_index.tensor_name', `the tensor name ${quoteForMessage(tensor)} ${nameProblem}`, file.offset);
    if (file.kind !== 'string' || !SHARD_NAME.test(file.value)) {
      const shown = file.kind === 'string' ? quoteForMessage(file.value) : 'a non-string value';
      return fail('st_index.shard_name', `tensor ${quoteForMessage(tensor)} maps to ${shown}, which is not a bare *.safetensors file name`, file.offset);
    }
    if (!shards.has(file.value)) {
      if (shards.size >= limits.maxShards) return fail('st_index.too_many_shards', `the index names more than ${limits.maxShards} shards`, file.offset);
      if (!available.has(file.value)) {
        return fail('st_index.missing_shard', `shard ${quoteForMessage(file.value)} is not in the same revision`, file.offset);
      }
      shards.add(file.value);
    }
    weightMap.set(tensor, file.value);
  }
  return { ok: true, index: { weightMap, shards: [...shards].sort() } };
}

function fail(code: ShardedIndexRejectionCode, message: string, offset?: number): ShardedIndexValidation {
  return { ok: false, reason: offset === undefined ? { code, message } : { code, message, offset } };
}
