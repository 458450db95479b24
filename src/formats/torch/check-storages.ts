import type { Finding } from '../pickle/types.ts';
import type { StorageRef } from '../pickle/values.ts';
import type { StorageRecord } from './types.ts';

export interface StorageBytes {
  offset: number;
  length: number;
  crc32?: number;
  member?: string;
}

/**
 * PKL-R09 cross-check of the storages the pickle declares against the records the container holds: every
 * declared key has a record of exactly `numel × element_size` bytes (BigInt), and every record is declared.
 * Fills `storages` with the matched pairs, for the reader.
 */
export function checkStorages(params: {
  declared: ReadonlyMap<string, StorageRef>;
  records: ReadonlyMap<string, StorageBytes>;
  storages: StorageRecord[];
  recordName: (key: string) => string;
}): Finding[] {
  const findings: Finding[] = [];
  const invalid = (code: string, message: string): void => {
    findings.push({ verdict: 'invalid', code, message, requirement: 'PKL-R09' });
  };
  for (const storage of params.declared.values()) {
    const record = params.records.get(storage.key);
    const name = params.recordName(storage.key);
    if (record === undefined) {
      invalid('storage.missing_record', `storage "${storage.key}" has no ${name} record`);
      continue;
    }
    const byteLength = storage.numel * BigInt(storage.elementSize);
    if (byteLength !== BigInt(record.length)) {
      invalid('storage.size_mismatch', `${name} holds ${record.length} bytes, but its id declares ${storage.numel} × ${storage.elementSize}`);
      continue;
    }
    params.storages.push({
      key: storage.key,
      storageClass: storage.storageClass,
      dtype: storage.dtype,
      elementSize: storage.elementSize,
      numel: Number(storage.numel),
      byteLength: record.length,
      location: storage.location,
      offset: record.offset,
      length: record.length,
      ...(record.crc32 === undefined ? {} : { crc32: record.crc32 }),
      ...(record.member === undefined ? {} : { member: record.member }),
    });
  }
  for (const key of params.records.keys()) {
    if (!params.declared.has(key)) invalid('storage.unreferenced', `${params.recordName(key)} is not referenced by any tensor`);
  }
  return findings;
}
