/**
 * Runs an install plan (install-plan.ts). Before anything runs, every pin the plan relies on is checked: each
 * pip step's requirements lock must be hash-pinned line by line, each Hub fetch must name a commit and a SHA-256
 * and size per file; a plan with one unpinned input is refused whole, so an install never half-happens on
 * trust. Then the caller's `confirm` is asked, once. Steps run in order, programs with their argv through the
 * one audited runner (never a shell), Hub fetches through the injected fetcher; the first failing step that
 * is not optional stops the install, and the result says what was done, what failed and what did not run.
 */
import path from 'node:path';
import { LorasmithError } from '../../../core/errors.ts';
import { runProgram, type ProgramResult, type ProgramRunner } from '../../../core/run-program.ts';
import type { HubFetch, InstallStep } from './install-plan.ts';
import { checkRequirementsLock } from './locks.ts';

export interface PinFinding {
  step: string;
  /** The lock file (requirements) or the Hub repository (start-up files). */
  subject: string;
  kind: 'requirements' | 'startup-files';
  findings: string[];
}

/** Every unpinned input of a plan; empty when the plan may run. */
export async function checkInstallPins(steps: readonly InstallStep[]): Promise<PinFinding[]> {
  const out: PinFinding[] = [];
  for (const step of steps) {
    if (step.lock !== undefined) {
      const check = await checkRequirementsLock(step.lock.file);
      if (check.problem !== null) out.push({ step: step.id, subject: step.lock.file, kind: 'requirements', findings: check.findings });
    }
    if (step.fetch !== undefined) {
      const findings = [
        ...(step.fetch.revision === null ? ['no Hub commit is pinned'] : []),
        ...step.fetch.files.filter((file) => file.sha256 === null || file.size === null).map((file) => `${file.path} has no SHA-256 and size`),
      ];
      if (findings.length > 0) out.push({ step: step.id, subject: step.fetch.repo, kind: 'startup-files', findings });
    }
  }
  return out;
}

/** How to regenerate what `checkInstallPins` found, for the error's hint. */
export function pinsHint(found: readonly PinFinding[], steps: readonly InstallStep[]): string {
  const lines: string[] = [];
  for (const finding of found.filter((f) => f.kind === 'requirements')) {
    const indexUrl = steps.find((step) => step.id === finding.step)?.lock?.indexUrl ?? 'https://pypi.org/simple';
    const name = path.basename(finding.subject, '.txt');
    lines.push(
      `regenerate ${path.basename(finding.subject)} on a machine with network, Linux x86_64 and the Python the engine will use: ` +
        `grep -v '^#' ${finding.subject} > /tmp/${name}.in && pip-compile --generate-hashes --allow-unsafe --no-emit-index-url --index-url ${indexUrl} --output-file ${finding.subject} /tmp/${name}.in`,
    );
  }
  if (found.some((f) => f.kind === 'startup-files')) {
    lines.push('pin each start-up file set in src/training/engines/locks/startup-files.json: its Hub commit, and each file’s SHA-256 and size at that commit');
  }
  return `${lines.join('; ')}. See src/training/engines/locks/README.md.`;
}

export type StepStatus = 'done' | 'failed' | 'skipped' | 'not-run';

export interface StepOutcome {
  id: string;
  status: StepStatus;
  seconds?: number;
  /** Why it failed (or, `skipped`, why the optional step did not complete). */
  message?: string;
}

export interface InstallResult {
  ok: boolean;
  steps: StepOutcome[];
  /** The step that stopped the install. */
  failed: StepOutcome | null;
}

export type StepEvent = { phase: 'start'; index: number; total: number; step: InstallStep } | { phase: 'end'; index: number; total: number; step: InstallStep; outcome: StepOutcome };

export interface RunInstallParams {
  steps: readonly InstallStep[];
  /** Asked once, after the pins were checked and before the first step. */
  confirm: () => Promise<boolean>;
  fetchStartupFiles: (fetch: HubFetch, signal?: AbortSignal) => Promise<void>;
  run?: ProgramRunner;
  onStep?: (event: StepEvent) => void;
  /** Per step kind, ms; defaults below (torch wheels are large). */
  timeouts?: Partial<Record<InstallStep['kind'], number>>;
  now?: () => number;
  signal?: AbortSignal;
}

const MINUTE = 60_000;
const DEFAULT_TIMEOUTS: Record<InstallStep['kind'], number> = { git: 30 * MINUTE, venv: 10 * MINUTE, pip: 120 * MINUTE, check: 5 * MINUTE, 'hub-fetch': 30 * MINUTE };

function tail(text: string): string {
  const lines = text.split(/\r?\n/).map((line) => line.trimEnd()).filter((line) => line !== '');
  const last = lines.slice(-3).join(' | ');
  return last.length > 600 ? `…${last.slice(-600)}` : last;
}

function programFailure(result: ProgramResult, step: InstallStep, timeoutMs: number): string | null {
  switch (result.kind) {
    case 'not-found':
      return `${step.argv?.[0] ?? 'the program'} could not be started (${result.message})`;
    case 'timeout':
      return `it did not finish within ${Math.round(timeoutMs / MINUTE)} min`;
    case 'error':
      return result.message;
    case 'exited': {
      if (result.code !== 0) {
        const said = tail(result.stderr) || tail(result.stdout);
        return `it exited with ${result.code ?? result.signal}${said === '' ? '' : `: ${said}`}`;
      }
      if (step.expectStdout === undefined) return null;
      const printed = result.stdout.trim().split(/\r?\n/).at(-1)?.trim() ?? '';
      return printed === step.expectStdout ? null : `it printed ${JSON.stringify(printed)}, expected ${JSON.stringify(step.expectStdout)}`;
    }
  }
}

export async function runInstall(params: RunInstallParams): Promise<InstallResult> {
  const { steps } = params;
  const found = await checkInstallPins(steps);
  if (found.length > 0) {
    throw new LorasmithError({
      code: 'engine-lock-unpinned',
      message: `The install was refused before anything ran: ${found.map((f) => `${f.kind === 'requirements' ? path.basename(f.subject) : `start-up files of ${f.subject}`} (${f.findings.length === 1 ? f.findings[0] : `${f.findings[0]} and ${f.findings.length - 1} more`})`).join('; ')}.`,
      hint: pinsHint(found, steps),
      exitCode: 1,
      details: { unpinned: found },
    });
  }
  if (!(await params.confirm())) {
    throw new LorasmithError({ code: 'engine-install-declined', message: 'The install was not confirmed; nothing was run.', hint: 'Run it again and answer "y", or pass --yes.', exitCode: 1 });
  }
  const run = params.run ?? runProgram;
  const now = params.now ?? Date.now;
  const outcomes: StepOutcome[] = steps.map((step) => ({ id: step.id, status: 'not-run' }));
  for (const [index, step] of steps.entries()) {
    params.onStep?.({ phase: 'start', index, total: steps.length, step });
    const started = now();
    const timeoutMs = params.timeouts?.[step.kind] ?? DEFAULT_TIMEOUTS[step.kind];
    let failure: string | null = null;
    if (params.signal?.aborted === true) failure = 'the install was cancelled';
    else if (step.argv !== null) {
      const [command, ...args] = step.argv;
      const result = await run({ command: command ?? '', args, env: step.env ?? { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' }, timeoutMs, ...(step.cwd === undefined ? {} : { cwd: step.cwd }) });
      failure = programFailure(result, step, timeoutMs);
    } else if (step.fetch !== undefined) {
      try {
        await params.fetchStartupFiles(step.fetch, params.signal);
      } catch (error) {
        failure = error instanceof LorasmithError ? `${error.message}${error.hint === undefined ? '' : ` (${error.hint})`}` : error instanceof Error ? error.message : String(error);
      }
    } else failure = 'the step has neither a command nor a fetch';
    const seconds = Math.round((now() - started) / 100) / 10;
    const outcome: StepOutcome = failure === null ? { id: step.id, status: 'done', seconds } : { id: step.id, status: step.optional === true ? 'skipped' : 'failed', seconds, message: failure };
    outcomes[index] = outcome;
    params.onStep?.({ phase: 'end', index, total: steps.length, step, outcome });
    if (outcome.status === 'failed') return { ok: false, steps: outcomes, failed: outcome };
  }
  return { ok: true, steps: outcomes, failed: null };
}
