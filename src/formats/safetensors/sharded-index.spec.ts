import { describe, expect, it } from 'vitest';
import { validateShardedIndex } from './sharded-index.ts';
import type { ShardedIndexValidation } from './sharded-index.ts';

const shards = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];

const index = (weightMap: Record<string, unknown>, extra = ''): Buffer =>
  Buffer.from(`{"metadata":{"total_size":16}${extra},"weight_map":${JSON.stringify(weightMap)}}`);

function code(result: ShardedIndexValidation): string {
  return result.ok ? 'ok' : result.reason.code;
}

describe('validateShardedIndex (ST-R09)', () => {
  it('accepts bare shard names present in the same revision', () => {
    const result = validateShardedIndex({
      bytes: index({ 'a.weight': shards[0], 'b.weight': shards[1], 'c.weight': shards[0] }),
      revisionFiles: [...shards, 'config.json'],
    });
    expect(result.ok && result.index.shards).toEqual(shards);
    expect(result.ok && result.index.weightMap.get('b.weight')).toBe(shards[1]);
  });

  it('ST-R09: refuses weight_map values that are paths or not *.safetensors', () => {
    for (const bad of ['../model.safetensors', '/etc/passwd.safetensors', 'sub/model.safetensors', 'a\\b.safetensors', 'model.bin', 'model.safetensors.exe', 'mödel.safetensors', '', 7]) {
      expect(code(validateShardedIndex({ bytes: index({ w: bad }), revisionFiles: ['model.safetensors'] })), String(bad)).toBe('st_index.shard_name');
    }
  });

  it('ST-R09: refuses shards missing from the revision', () => {
    expect(code(validateShardedIndex({ bytes: index({ w: 'other.safetensors' }), revisionFiles: shards }))).toBe('st_index.missing_shard');
  });

  it('ST-R09: ≤ 10,000 shards and JSON ≤ 10 MB (both configurable)', () => {
    const map = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`t${i}`, `s${i}.safetensors`]));
    const files = Object.values(map);
    expect(code(validateShardedIndex({ bytes: index(map), revisionFiles: files }))).toBe('ok');
    expect(code(validateShardedIndex({ bytes: index(map), revisionFiles: files, limits: { maxShards: 3 } }))).toBe('st_index.too_many_shards');
    expect(code(validateShardedIndex({ bytes: index(map), revisionFiles: files, limits: { maxBytes: 10 } }))).toBe('st_index.too_large');
    expect(code(validateShardedIndex({ bytes: Buffer.alloc(10_000_001, 0x20), revisionFiles: files }))).toBe('st_index.too_large');
  });

  it('parses strictly: duplicate tensor keys, bad JSON, missing weight_map, control characters in names', () => {
    const dup = Buffer.from(`{"weight_map":{"w":"${shards[0]}","w":"${shards[1]}"}}`);
    expect(code(validateShardedIndex({ bytes: dup, revisionFiles: shards }))).toBe('st_index.json');
    expect(code(validateShardedIndex({ bytes: Buffer.from('{"weight_map":'), revisionFiles: shards }))).toBe('st_index.json');
    expect(code(validateShardedIndex({ bytes: Buffer.from('{"metadata":{}}'), revisionFiles: shards }))).toBe('st_index.structure');
    expect(code(validateShardedIndex({ bytes: Buffer.from('[]'), revisionFiles: shards }))).toBe('st_index.structure');
    expect(code(validateShardedIndex({ bytes: index({ 'a\u0001': shards[0] }), revisionFiles: shards }))).toBe('st_index.tensor_name');
  });
});
