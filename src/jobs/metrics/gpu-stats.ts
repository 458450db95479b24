/**
 * GPU utilisation, memory and temperature for the Jobs page: `nvidia-smi --query-gpu=…` through the audited
 * runner (via the GPU probe's `queryNvidiaSmi`, which classifies absent / no devices / failed alike for both),
 * and a sampler that polls only while runs are active, one query at a time, so a hung driver costs one
 * stuck query per time limit rather than a pile of them.
 */
import type { ProgramRunner } from '../../core/run-program.ts';
import { excerpt, queryNvidiaSmi, splitNvidiaSmiCsv } from '../../training/planner/probe-gpus.ts';
import type { GpuStat, GpuStatsSample } from '../job-api-types.ts';

export type { GpuStat, GpuStatsSample };

export const GPU_STATS_ARGS: readonly string[] = [
  '--query-gpu=index,uuid,utilization.gpu,memory.used,memory.total,temperature.gpu',
  '--format=csv,noheader,nounits',
];

const WHOLE = /^\d{1,9}$/;
const NOT_AVAILABLE = /^\[?(n\/a|not supported|unknown error)\]?$/i;
const UUID = /^(GPU|MIG)-[0-9A-Za-z/-]{1,120}$/;

function reading(cell: string): number | null | undefined {
  if (NOT_AVAILABLE.test(cell)) return null;
  return WHOLE.test(cell) ? Number(cell) : undefined;
}

/** Strict parse of the stats query; a string names the first problem. */
export function parseGpuStats(stdout: string): GpuStat[] | string {
  const rows = splitNvidiaSmiCsv(stdout, 6);
  if (typeof rows === 'string') return rows;
  const gpus: GpuStat[] = [];
  for (const cells of rows) {
    const [index, uuid, utilization, used, total, temperature] = cells as [string, string, string, string, string, string];
    const line = excerpt(cells.join(', '));
    const values = [utilization, used, total, temperature].map(reading);
    if (!WHOLE.test(index)) return `the GPU index must be a whole number: ${line}`;
    if (!UUID.test(uuid)) return `bad GPU UUID: ${line}`;
    if (values.some((value) => value === undefined)) return `readings must be whole numbers or [N/A]: ${line}`;
    const [utilizationPct, memoryUsedMiB, memoryTotalMiB, temperatureC] = values as Array<number | null>;
    const stat: GpuStat = {
      index: Number(index),
      uuid,
      utilizationPct: utilizationPct ?? null,
      memoryUsedMiB: memoryUsedMiB ?? null,
      memoryTotalMiB: memoryTotalMiB ?? null,
      temperatureC: temperatureC ?? null,
    };
    if (stat.utilizationPct !== null && stat.utilizationPct > 100) return `utilisation above 100 %: ${line}`;
    if (stat.memoryUsedMiB !== null && stat.memoryTotalMiB !== null && stat.memoryUsedMiB > stat.memoryTotalMiB) return `memory used above total: ${line}`;
    if (gpus.some((gpu) => gpu.index === stat.index)) return `GPU index ${stat.index} listed twice`;
    gpus.push(stat);
  }
  return gpus;
}

export interface SampleGpuStatsParams {
  run?: ProgramRunner;
  /** PATH searched for `nvidia-smi`; default this process's PATH. */
  path?: string;
  /** Default 5 s: a driver that takes longer is reported as hung. */
  timeoutMs?: number;
  /** Milliseconds since the epoch; default `Date.now`. */
  now?: () => number;
}

/** One reading. Never rejects: a runner that throws becomes an `error` sample. */
export async function sampleGpuStats(params: SampleGpuStatsParams = {}): Promise<GpuStatsSample> {
  const now = params.now ?? Date.now;
  let answer;
  try {
    answer = await queryNvidiaSmi({ args: GPU_STATS_ARGS, run: params.run, path: params.path, timeoutMs: params.timeoutMs ?? 5_000 });
  } catch (error) {
    return { state: 'error', at: now(), reason: `nvidia-smi could not be run: ${excerpt(error instanceof Error ? error.message : String(error))}` };
  }
  const at = now();
  switch (answer.kind) {
    case 'absent':
      return { state: 'unavailable', at, reason: 'nvidia-smi is not on PATH: no NVIDIA GPU driver on this machine.' };
    case 'no-devices':
      return { state: 'unavailable', at, reason: 'nvidia-smi found no GPU ("No devices were found").' };
    case 'failed':
      return { state: 'error', at, reason: answer.reason };
    case 'ok':
      break;
  }
  const gpus = parseGpuStats(answer.stdout);
  if (typeof gpus === 'string') return { state: 'error', at, reason: `nvidia-smi printed output that does not parse (${gpus}).` };
  if (gpus.length === 0) return { state: 'unavailable', at, reason: 'nvidia-smi lists no GPU.' };
  return { state: 'ok', at, gpus };
}

export interface GpuStatsSamplerParams extends SampleGpuStatsParams {
  /** Pause between the end of one reading and the start of the next. Default 2 s. */
  intervalMs?: number;
  /**
   * Called with every reading taken while active (and the one in flight when it stopped being active).
   * It must not throw: an error it throws is dropped so that sampling goes on for the other runs.
   */
  onSample: (sample: GpuStatsSample) => void;
}

export interface GpuStatsSampler {
  /** True while at least one run is active: reads at once, then every interval; false stops polling. */
  setActive(active: boolean): void;
  /** The last reading, if any. */
  latest(): GpuStatsSample | undefined;
  /** Stops for good; resolves once a reading in flight has ended (its result is not delivered). */
  stop(): Promise<void>;
}

export function createGpuStatsSampler(params: GpuStatsSamplerParams): GpuStatsSampler {
  const interval = params.intervalMs ?? 2_000;
  let active = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let last: GpuStatsSample | undefined;

  const tick = async (): Promise<void> => {
    const sample = await sampleGpuStats(params);
    inFlight = undefined;
    if (stopped) return;
    last = sample;
    try {
      params.onSample(sample);
    } catch {
      // Documented: a listener's failure must not stop the readings other runs are shown.
    }
    if (active) schedule(interval);
  };

  const schedule = (delay: number): void => {
    // The timer never keeps the process alive: a CLI that is done exits even if a run is still "active".
    timer = setTimeout(() => {
      timer = undefined;
      inFlight = tick();
    }, delay);
    timer.unref();
  };

  return {
    setActive(next) {
      if (stopped || next === active) return;
      active = next;
      if (!active) {
        clearTimeout(timer);
        timer = undefined;
      } else if (inFlight === undefined && timer === undefined) {
        inFlight = tick();
      }
    },
    latest: () => last,
    async stop() {
      stopped = true;
      active = false;
      clearTimeout(timer);
      timer = undefined;
      await inFlight;
    },
  };
}
