import { isLorasmithError } from '../../core/errors.ts';
import { scanPickle } from '../pickle/scan-pickle.ts';
import type { Finding, PickleLimits, ScanWarning } from '../pickle/types.ts';
import { verdictOf } from '../pickle/verdict.ts';
import type { ByteSource } from './byte-source.ts';
import { parseNpyHeader } from './npy-header.ts';
import type { ModelFileScan } from './types.ts';
import { inflateEntry } from './zip-data.ts';
import type { ZipListing } from './zip-records.ts';

/** ARC-R03: per-entry uncompressed size and deflate ratio caps for `.npz` members. */
const NPZ_MAX_ENTRY_BYTES = 512 * 1024 * 1024;
const NPZ_MAX_RATIO = 100;
const NPY_MAX_PREFIX = 12 + 10_000;

const NOTHING_TO_CONVERT = 'numpy arrays are not a torch checkpoint; there are no tensors to convert';

interface ArrayCheck {
  findings: Finding[];
  warnings: ScanWarning[];
  visits: number;
}

/**
 * One `.npy` payload: a plain array is data only (its length must match dtype × shape); an object array
 * carries a pickle, scanned like any other (PKL-R04) — numpy's own globals are outside the allowlist, so any
 * object array is refused.
 */
function checkArray(params: { head: Uint8Array; total: number; member: string; limits: PickleLimits }): ArrayCheck {
  const { head, total, member, limits } = params;
  const parsed = parseNpyHeader(head);
  if (!parsed.ok) return { findings: [{ verdict: parsed.verdict, code: 'npy.header', message: parsed.message, member }], warnings: [], visits: 0 };
  const { header } = parsed;
  if (header.hasObject) {
    if (total - header.dataOffset > limits.maxPickleBytes) {
      return { findings: [{ verdict: 'invalid', code: 'pickle.limit_size', message: 'the object array pickle is over the size limit', requirement: 'PKL-R11', member }], warnings: [], visits: 0 };
    }
    const scan = scanPickle({ bytes: head.subarray(header.dataOffset, total), member, limits });
    return { findings: scan.findings, warnings: scan.warnings, visits: scan.visits };
  }
  const elements = header.shape.reduce((product, n) => product * n, 1n);
  const expected = BigInt(header.dataOffset) + elements * BigInt(header.itemSize ?? 0);
  if (expected !== BigInt(total)) {
    return { findings: [{ verdict: 'invalid', code: 'npy.size_mismatch', message: `the array holds ${total} bytes, its header says ${expected}`, member }], warnings: [], visits: 0 };
  }
  return { findings: [], warnings: [], visits: 0 };
}

export async function scanNpy(params: { source: ByteSource; limits: PickleLimits }): Promise<ModelFileScan> {
  const { source, limits } = params;
  const head = await source.read(0, Math.min(source.size, NPY_MAX_PREFIX + limits.maxPickleBytes));
  const check = checkArray({ head, total: source.size, member: 'array', limits });
  const verdict = verdictOf(check.findings);
  return {
    verdict,
    format: 'npy',
    findings: check.findings,
    warnings: check.warnings,
    visits: check.visits,
    ...(verdict === 'safe' ? { nothingToConvert: NOTHING_TO_CONVERT } : {}),
  };
}

/** `.npz`: a zip (already structure-checked) whose members are all `.npy`, each decompressed within ARC-R03 limits. */
export async function scanNpz(params: { source: ByteSource; listing: ZipListing; limits: PickleLimits }): Promise<ModelFileScan> {
  const { source, listing, limits } = params;
  const findings: Finding[] = [];
  const warnings: ScanWarning[] = [];
  let visits = 0;
  for (const entry of listing.entries) {
    if (!entry.name.endsWith('.npy') || (entry.flags & ~0x0808) !== 0) {
      findings.push({ verdict: 'unsupported', code: 'npz.member', message: `member "${entry.name}" is not a plain .npy array`, member: entry.name });
      continue;
    }
    try {
      const { head, total } = await inflateEntry({
        source,
        entry,
        keepBytes: NPY_MAX_PREFIX + limits.maxPickleBytes,
        maxBytes: NPZ_MAX_ENTRY_BYTES,
        maxRatio: NPZ_MAX_RATIO,
      });
      const check = checkArray({ head, total, member: entry.name, limits });
      findings.push(...check.findings);
      warnings.push(...check.warnings);
      visits += check.visits;
    } catch (error) {
      if (!isLorasmithError(error)) throw error;
      findings.push({ verdict: 'invalid', code: error.code, message: error.message, member: entry.name });
    }
  }
  const verdict = verdictOf(findings);
  return { verdict, format: 'npz', findings, warnings, visits, ...(verdict === 'safe' ? { nothingToConvert: NOTHING_TO_CONVERT } : {}) };
}
