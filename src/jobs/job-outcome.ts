/**
 * How a run ended, from what the shim recorded and what the engine printed (DESIGN.md §4: success is the
 * engine's own "saved" signal plus the output file and a clean exit, never the exit code alone).
 */
import type { EngineEvent, EngineOutputParser } from '../training/engines/engine.ts';
import type { JobFailure } from './job-types.ts';
import type { ShimStatus } from './shim/protocol.ts';

export type ShimExit = NonNullable<ShimStatus['exit']>;

export interface RunOutcome {
  state: 'succeeded' | 'failed' | 'cancelled';
  failure: JobFailure | null;
  /** Events the parser had held back until the end (a config error finished by the exit). */
  events: EngineEvent[];
}

export const STOP_KEEPS = 'Neither engine saves on a signal: a stopped run keeps only its last save (the newest per-epoch file and saved state).';

export function decideOutcome(params: { exit: ShimExit; parser: EngineOutputParser; outputExists: boolean; lastLines: string[] }): RunOutcome {
  const { exit, lastLines } = params;
  const finished = params.parser.finish({ code: exit.code, signal: exit.signal, outputExists: params.outputExists });
  const { outcome, events } = finished;
  // A run that finished and saved its model just as a stop arrived succeeded all the same.
  if (outcome.ok) return { state: 'succeeded', failure: null, events };
  const tail = lastLines.length > 0 ? { lastLines } : {};
  switch (exit.reason) {
    case 'stopped':
      return {
        state: 'cancelled',
        failure: { code: 'stopped', message: `Stopped on request. ${STOP_KEEPS}`, hint: 'Resume it with `lorasmith jobs resume ID` when it saved state, or promote a saved epoch with `lorasmith jobs promote ID`.' },
        events,
      };
    case 'watchdog':
      return {
        state: 'failed',
        failure: {
          code: 'hang',
          message: `The run stopped making progress and was stopped by the watchdog${exit.detail === undefined ? '' : `: ${exit.detail}`}.`,
          hint: 'A hung data loader, driver or disk is the usual cause; see the last log lines. The watchdog limits are in Settings → Jobs.',
          ...tail,
        },
        events,
      };
    case 'spawn-failed':
      return {
        state: 'failed',
        failure: { code: 'spawn-failed', message: `The engine could not be started${exit.detail === undefined ? '' : `: ${exit.detail}`}.`, hint: 'Check the engine install with `lorasmith doctor`.', ...tail },
        events,
      };
    case 'shim-error':
      return {
        state: 'failed',
        failure: { code: 'shim-error', message: `The run's supervisor failed${exit.detail === undefined ? '' : `: ${exit.detail}`}; the run was stopped.`, hint: 'Its report is in the run folder (shim.log); please report it.', ...tail },
        events,
      };
    case 'exited':
      return { state: 'failed', failure: { code: outcome.code, message: outcome.message, ...(outcome.hint === undefined ? {} : { hint: outcome.hint }), ...tail }, events };
  }
}
