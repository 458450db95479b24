import { isLorasmithError } from '../../core/errors.ts';
import { collectTensors } from '../pickle/collect-tensors.ts';
import { interpretPickle } from '../pickle/interpret.ts';
import { scanPickle, visitMeterFor } from '../pickle/scan-pickle.ts';
import type { Finding, PickleLimits, ScanWarning } from '../pickle/types.ts';
import { verdictOf } from '../pickle/verdict.ts';
import type { ByteSource } from './byte-source.ts';
import { checkStorages } from './check-storages.ts';
import type { ModelFileScan, StorageRecord } from './types.ts';
import { checkEntryCrc, readStoredEntry } from './zip-data.ts';
import type { ZipEntry, ZipListing } from './zip-records.ts';

const FIXED_RECORDS = new Set(['data.pkl', 'byteorder', 'version', '.format_version', '.storage_alignment', '.data/serialization_id', '.data/version']);
const DATA_RECORD = /^data\/(\d{1,20})$/;
const ALLOWED_FLAGS = 0x0008 | 0x0800;

/** The root folder torch's C++ reader takes from the first central-directory name (§1.3, PKL-R05). */
export function torchZipRoot(listing: ZipListing): string | undefined {
  const first = listing.entries[0]?.name;
  const slash = first?.indexOf('/') ?? -1;
  return first === undefined || slash < 0 ? undefined : first.slice(0, slash);
}

/** TorchScript (`constants.pkl` or `code/`): not a checkpoint, it carries code (CVE-2025-32434 class). */
export function isTorchScriptRecord(record: string): boolean {
  return record === 'constants.pkl' || record.startsWith('code/');
}

function rootProblem(root: string): string | undefined {
  const bytes = Buffer.byteLength(root, 'utf8');
  if (bytes < 1 || bytes > 255) return 'is empty or longer than 255 bytes';
  if (root === '.' || root === '..') return 'is "." or ".."';
  if (/[\\\u0000-\u001f\u007f-\u009f]/.test(root)) return 'holds a backslash or a control character';
  return undefined;
}

/**
 * A PyTorch zip checkpoint (PKL-R05, R06, R09, R19): the zip structure (already cross-checked by
 * `readZipListing`), torch's layout and record set, the CRC-32 of every record except the tensor data
 * (`data/<key>`, checked by `convert`), `data.pkl` under the 34-opcode subset, and storages ↔ records.
 */
export async function scanTorchZip(params: { source: ByteSource; listing: ZipListing; limits: PickleLimits }): Promise<ModelFileScan> {
  const { source, listing, limits } = params;
  const findings: Finding[] = [];
  const warnings: ScanWarning[] = [];
  const meter = visitMeterFor({ byteLength: 0, limits });
  const invalid = (code: string, message: string, member?: string, requirement = 'PKL-R05'): void => {
    findings.push({ verdict: 'invalid', code, message, requirement, ...(member === undefined ? {} : { member }) });
  };
  const done = (format: ModelFileScan['format'], extra: Partial<ModelFileScan> = {}): ModelFileScan => ({
    verdict: verdictOf(findings),
    format,
    findings,
    warnings,
    visits: meter.visits,
    ...extra,
  });

  const root = torchZipRoot(listing);
  if (root === undefined) {
    invalid('torch.root', 'the first archive name has no folder, so torch finds no root');
    return done('torch-zip');
  }
  const problem = rootProblem(root);
  if (problem !== undefined) invalid('torch.root', `the root folder name ${problem}`);

  const records = new Map<string, ZipEntry>();
  /** The `<key>` of every `data/<key>` record, matched once (the loops below need it three times). */
  const dataKeys = new Map<string, string>();
  let torchScript = false;
  const rootPrefix = `${root}/`;
  for (const entry of listing.entries) {
    if (!entry.name.startsWith(rootPrefix)) {
      invalid('torch.root', `"${entry.name}" is outside the root folder "${root}/"`, entry.name);
      continue;
    }
    const record = entry.name.slice(rootPrefix.length);
    records.set(record, entry);
    const dataKey = DATA_RECORD.exec(record)?.[1];
    if (dataKey !== undefined) dataKeys.set(record, dataKey);
    else dataKeys.delete(record);
    if (isTorchScriptRecord(record)) {
      torchScript = true;
    } else if (!FIXED_RECORDS.has(record) && dataKey === undefined) {
      invalid('torch.unexpected_record', `unexpected record "${record}"`, entry.name);
    }
    if ((entry.flags & ~ALLOWED_FLAGS) !== 0) invalid('torch.record_flags', `record "${record}" has flags 0x${entry.flags.toString(16)}`, entry.name);
    if (entry.method !== 0) invalid('torch.record_method', `record "${record}" is compressed (method ${entry.method})`, entry.name);
  }
  if (torchScript) {
    findings.push({
      verdict: 'unsafe',
      code: 'torch.torchscript',
      message: 'a TorchScript archive (constants.pkl or code/) carries executable code, not a checkpoint',
      requirement: 'PKL-R04',
    });
  }
  // Pickles outside the record set are never loaded by torch.load, but scanning them labels what they carry.
  for (const [record, entry] of records) {
    if (!FIXED_RECORDS.has(record) && !dataKeys.has(record)) meter.visits += await labelStrayPickle({ source, entry, limits, findings });
  }

  const dataPkl = records.get('data.pkl');
  if (dataPkl === undefined) invalid('torch.missing_record', 'no data.pkl record');
  if (!records.has('version') && !records.has('.data/version')) invalid('torch.missing_record', 'no version record');

  // CRC-32 of every record but the tensor data: the pickle and the small metadata records (PKL-R05).
  let crcAbsent = false;
  for (const [record, entry] of records) {
    if (dataKeys.has(record) || entry.method !== 0) continue;
    try {
      if ((await checkEntryCrc({ source, entry })) === 'absent') crcAbsent = true;
    } catch (error) {
      if (!isLorasmithError(error)) throw error;
      invalid(error.code, error.message, entry.name);
    }
  }
  if (crcAbsent) warnings.push({ code: 'zip.crc_absent', message: 'records carry no CRC-32 (saved with CRC checks off); accepted' });

  await checkByteorder({ source, entry: records.get('byteorder'), findings });

  if (dataPkl === undefined || dataPkl.method !== 0) return done(torchScript ? 'torchscript' : 'torch-zip');
  if (dataPkl.compressedSize > limits.maxPickleBytes) {
    invalid('pickle.limit_size', `data.pkl is ${dataPkl.compressedSize} bytes, over the ${limits.maxPickleBytes}-byte limit`, dataPkl.name, 'PKL-R11');
    return done('torch-zip');
  }
  const bytes = await readStoredEntry({ source, entry: dataPkl, maxBytes: limits.maxPickleBytes });
  meter.limit += limits.visitsPerByte * bytes.length;
  const run = interpretPickle({ bytes, dialect: 'torch-zip', member: dataPkl.name, limits, meter });
  findings.push(...run.findings);
  warnings.push(...run.warnings);
  if (run.root !== undefined && run.end < bytes.length) {
    findings.push({ verdict: 'invalid', code: 'pickle.trailing_bytes', message: `${bytes.length - run.end} bytes follow STOP`, requirement: 'PKL-R12', offset: run.end, member: dataPkl.name });
  }

  const storages: StorageRecord[] = [];
  const dataRecords = new Map<string, { offset: number; length: number; crc32?: number; member: string }>();
  for (const [record, key] of dataKeys) {
    const entry = records.get(record) as ZipEntry;
    const crcKnown = !(entry.crc32 === 0 && entry.descriptor?.crc32 === 0);
    dataRecords.set(key, { offset: entry.dataOffset, length: entry.compressedSize, member: entry.name, ...(crcKnown ? { crc32: entry.crc32 } : {}) });
  }
  findings.push(...checkStorages({ declared: run.storages, records: dataRecords, storages, recordName: (key) => `data/${key}` }));

  if (torchScript) return done('torchscript');
  const verdict = verdictOf(findings);
  if (verdict !== 'safe' || run.root === undefined) return done('torch-zip');
  const tensors = collectTensors({ root: run.root, meter, offset: run.end });
  return done('torch-zip', { checkpoint: { container: 'zip', tensors, storages } });
}

/** R19: `byteorder` is `little` or `big`; absent means little; `big` would need per-element swaps: unsupported. */
async function checkByteorder(params: { source: ByteSource; entry: ZipEntry | undefined; findings: Finding[] }): Promise<void> {
  const { entry } = params;
  if (entry === undefined || entry.method !== 0) return;
  const text = entry.compressedSize <= 16 ? Buffer.from(await params.source.read(entry.dataOffset, entry.compressedSize)).toString('latin1') : undefined;
  if (text === 'little') return;
  if (text === 'big') {
    params.findings.push({ verdict: 'unsupported', code: 'torch.byteorder_big', message: 'the checkpoint is big-endian; the reader does not byte-swap', requirement: 'PKL-R19', member: entry.name });
    return;
  }
  params.findings.push({ verdict: 'invalid', code: 'torch.byteorder', message: 'the byteorder record is neither "little" nor "big"', requirement: 'PKL-R19', member: entry.name });
}

/** Scan a pickle-looking record torch would not load, keeping only `unsafe` findings (its labels). */
async function labelStrayPickle(params: { source: ByteSource; entry: ZipEntry; limits: PickleLimits; findings: Finding[] }): Promise<number> {
  const { entry, limits } = params;
  if (entry.method !== 0 || entry.compressedSize === 0 || entry.compressedSize > limits.maxPickleBytes) return 0;
  const first = (await params.source.read(entry.dataOffset, 1))[0];
  if (!entry.name.endsWith('.pkl') && first !== 0x80) return 0;
  const bytes = await params.source.read(entry.dataOffset, entry.compressedSize);
  const scan = scanPickle({ bytes, member: entry.name, limits });
  params.findings.push(...scan.findings.filter((finding) => finding.verdict === 'unsafe'));
  return scan.visits;
}
