import { collectTensors } from '../pickle/collect-tensors.ts';
import { interpretPickle } from '../pickle/interpret.ts';
import type { PickleRun } from '../pickle/interpret.ts';
import type { Finding, PickleLimits, ScanWarning } from '../pickle/types.ts';
import { stringKey } from '../pickle/values.ts';
import type { PValue, VisitMeter } from '../pickle/values.ts';
import { verdictOf } from '../pickle/verdict.ts';
import type { ByteSource } from './byte-source.ts';
import { checkStorages } from './check-storages.ts';
import type { StorageBytes } from './check-storages.ts';
import type { ModelFileScan, StorageRecord } from './types.ts';

/** The first pickle of a legacy torch file decodes to this number (`torch.serialization.MAGIC_NUMBER`). */
export const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001n;

function entry(dict: PValue | undefined, key: string): PValue | undefined {
  return dict?.kind === 'dict' ? dict.entries.get(stringKey(key))?.value : undefined;
}

/**
 * A legacy stacked-pickle torch file (torch < 1.6 or `_use_new_zipfile_serialization=False`; §1.3): after the
 * magic-number pickle come the protocol version (1001), `sys_info`, the main object (6-tuple storage ids),
 * the storage-key list; then per key an int64 LE element count and the raw bytes. Every pickle is scanned like
 * any other (PKL-R04); the storage records are cross-checked as a zip's `data/<key>` (PKL-R09), and nothing may
 * follow the last one (PKL-R12).
 */
export async function scanTorchLegacy(params: {
  source: ByteSource;
  prefix: Uint8Array;
  magicEnd: number;
  meter: VisitMeter;
  limits: PickleLimits;
  findings: Finding[];
  warnings: ScanWarning[];
}): Promise<ModelFileScan> {
  const { source, prefix, meter, limits, findings, warnings } = params;
  const done = (extra: Partial<ModelFileScan> = {}): ModelFileScan => ({
    verdict: verdictOf(findings),
    format: 'torch-legacy',
    findings,
    warnings,
    visits: meter.visits,
    ...extra,
  });
  const invalid = (code: string, message: string, requirement = 'PKL-R04'): ModelFileScan => {
    findings.push({ verdict: 'invalid', code, message, requirement });
    return done();
  };

  let position = params.magicEnd;
  const runs: PickleRun[] = [];
  for (let n = 2; n <= 5; n++) {
    const run = interpretPickle({ bytes: prefix, start: position, dialect: 'torch-legacy', member: `pickle ${n}`, limits, meter });
    findings.push(...run.findings);
    warnings.push(...run.warnings);
    if (run.root === undefined) return done();
    runs.push(run);
    position = run.end;
  }
  const [versionRun, sysInfoRun, mainRun, keysRun] = runs as [PickleRun, PickleRun, PickleRun, PickleRun];
  if (versionRun.root?.kind !== 'int' || versionRun.root.value !== PROTOCOL_VERSION) return invalid('legacy.protocol_version', 'the protocol-version pickle is not 1001');
  const sysInfo = sysInfoRun.root;
  const littleEndian = entry(sysInfo, 'little_endian');
  const version = entry(sysInfo, 'protocol_version');
  if (version?.kind !== 'int' || version.value !== PROTOCOL_VERSION || littleEndian?.kind !== 'bool' || entry(sysInfo, 'type_sizes')?.kind !== 'dict') {
    return invalid('legacy.sys_info', 'the sys_info pickle is malformed');
  }
  if (!littleEndian.value) {
    findings.push({ verdict: 'unsupported', code: 'legacy.big_endian', message: 'the file was saved big-endian; the reader does not byte-swap', requirement: 'PKL-R19' });
    return done();
  }
  const keys = keysRun.root;
  if (keys?.kind !== 'list' || keys.items.some((item) => item.kind !== 'str')) return invalid('legacy.keys', 'the storage-key pickle is not a list of strings');

  const records = new Map<string, StorageBytes>();
  for (const item of keys.items) {
    const key = item.kind === 'str' ? item.value : '';
    if (records.has(key)) return invalid('legacy.keys', `storage key "${key}" is listed twice`);
    const declared = mainRun.storages.get(key);
    if (declared === undefined) return invalid('storage.unreferenced', `storage "${key}" is listed but no tensor uses it`, 'PKL-R09');
    if (position + 8 > source.size) return invalid('legacy.truncated', `the file ends before storage "${key}"`, 'PKL-R12');
    const count = Buffer.from(await source.read(position, 8)).readBigInt64LE(0);
    const bytes = count * BigInt(declared.elementSize);
    if (count < 0n || bytes > BigInt(source.size - position - 8)) return invalid('legacy.truncated', `storage "${key}" declares more bytes than the file holds`, 'PKL-R12');
    records.set(key, { offset: position + 8, length: Number(bytes) });
    position += 8 + Number(bytes);
  }
  if (position !== source.size) {
    findings.push({ verdict: 'invalid', code: 'pickle.trailing_bytes', message: `${source.size - position} bytes follow the last storage`, requirement: 'PKL-R12', offset: position });
  }
  const storages: StorageRecord[] = [];
  findings.push(...checkStorages({ declared: mainRun.storages, records, storages, recordName: (key) => `storage record "${key}"` }));
  if (verdictOf(findings) !== 'safe' || mainRun.root === undefined) return done();
  const tensors = collectTensors({ root: mainRun.root, meter, offset: mainRun.end });
  return done({ checkpoint: { container: 'legacy', tensors, storages } });
}
