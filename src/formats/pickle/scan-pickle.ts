import { interpretPickle } from './interpret.ts';
import { DEFAULT_PICKLE_LIMITS } from './types.ts';
import type { Finding, PickleLimits, ScanWarning, Verdict } from './types.ts';
import type { PValue, VisitMeter } from './values.ts';
import { verdictOf } from './verdict.ts';

export interface PickleScan {
  verdict: Verdict;
  findings: Finding[];
  warnings: ScanWarning[];
  /** The last PROTO in force (0 if none). */
  protocol: number;
  opcodes: number;
  /** Work done, for the bound tests: never more than `visitsPerByte × bytes + visitsBase`. */
  visits: number;
}

export function resolvePickleLimits(limits: Partial<PickleLimits> = {}): PickleLimits {
  return { ...DEFAULT_PICKLE_LIMITS, ...limits };
}

/** A meter whose limit is proportional to the bytes it may spend visits on. */
export function visitMeterFor(params: { byteLength: number; limits: PickleLimits }): VisitMeter {
  return { visits: 0, limit: params.limits.visitsPerByte * params.byteLength + params.limits.visitsBase };
}

/**
 * Scan a raw pickle stream (protocols 0–5) on its own: a `.pkl`, a gzip- or zlib-wrapped pickle once
 * decompressed, a numpy object array's payload. Anything after STOP rejects (PKL-R12). Such a stream holds no
 * tensor data, so a `safe` raw pickle is still nothing to convert (PKL-R04).
 */
export function scanPickle(params: { bytes: Uint8Array; member?: string; limits?: Partial<PickleLimits> }): PickleScan {
  const limits = resolvePickleLimits(params.limits);
  const bytes = params.bytes.subarray(0, limits.maxPickleBytes);
  return runRawPickle({ ...params, bytes, limits, totalLength: params.bytes.length }).scan;
}

/**
 * `scanPickle`, also returning the modelled root value, for containers that look inside it (a legacy torch
 * file is a raw pickle whose root is the magic number). `bytes` may be a prefix of a longer input of
 * `totalLength` bytes: then the input is over the size limit, or the stream must end before the prefix does.
 */
export function runRawPickle(params: { bytes: Uint8Array; totalLength: number; member?: string; limits: PickleLimits }): {
  scan: PickleScan;
  root: PValue | undefined;
  end: number;
  meter: VisitMeter;
} {
  const { limits } = params;
  const meter = visitMeterFor({ byteLength: params.bytes.length, limits });
  const member = params.member === undefined ? {} : { member: params.member };
  const run = interpretPickle({ bytes: params.bytes, dialect: 'raw', limits, meter, ...member });
  const findings = [...run.findings];
  if (params.totalLength > limits.maxPickleBytes && run.root === undefined) {
    findings.push({
      verdict: 'invalid',
      code: 'pickle.limit_size',
      message: `the pickle is ${params.totalLength} bytes, over the ${limits.maxPickleBytes}-byte limit`,
      requirement: 'PKL-R11',
      ...member,
    });
  } else if (run.root !== undefined && run.end < params.totalLength) {
    findings.push({
      verdict: 'invalid',
      code: 'pickle.trailing_bytes',
      message: `${params.totalLength - run.end} bytes follow the pickle's STOP`,
      requirement: 'PKL-R12',
      offset: run.end,
      ...member,
    });
  }
  const scan = { verdict: verdictOf(findings), findings, warnings: run.warnings, protocol: run.protocol, opcodes: run.opcodes, visits: meter.visits };
  return { scan, root: run.root, end: run.end, meter };
}
