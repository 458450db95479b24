/**
 * shim.json as the shim accepts it. The server builds the spec, but the shim checks it again before it
 * starts anything (defence in depth, PROC-R02/R03/R05): absolute normalised paths, only `work/` writable, an
 * environment without credentials or loader hooks, valid patterns. The engine's environment always carries
 * TORCH_FORCE_WEIGHTS_ONLY_LOAD=1 and HF_HUB_OFFLINE=1, whatever the spec says.
 */
import path from 'node:path';
import { redactString } from '../../core/redact.ts';
import { SecretStore } from '../../core/secret-store.ts';
import type { ShimSpec } from './protocol.ts';

/** Variables no engine run may receive: credentials, loader and interpreter hooks, the weights-only bypass. */
const FORBIDDEN_ENV = new Set([
  'LD_PRELOAD',
  'LD_AUDIT',
  'PYTHONPATH',
  'PYTHONSTARTUP',
  'PYTHONHOME',
  'PYTHONEXECUTABLE',
  'PYTHONINSPECT',
  'PYTHONBREAKPOINT',
  'NODE_OPTIONS',
  'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD',
  'HF_TOKEN',
  'HUGGING_FACE_HUB_TOKEN',
  'CIVITAI_TOKEN',
  'WANDB_API_KEY',
]);
/** A credential by its name (`*_TOKEN`, `*_SECRET`, `*_API_KEY`, …), but not `TOKENIZERS_PARALLELISM`. */
const CREDENTIAL_NAME = /(?:^|_)(?:TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|CREDENTIALS?)(?:$|_)/i;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const FORCED_ENGINE_ENV: Readonly<Record<string, string>> = { TORCH_FORCE_WEIGHTS_ONLY_LOAD: '1', HF_HUB_OFFLINE: '1' };

function isCleanAbsolute(value: string): boolean {
  return path.isAbsolute(value) && path.normalize(value) === value && (value === '/' || !value.endsWith('/'));
}

function within(root: string, value: string): boolean {
  const rel = path.relative(root, value);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function validRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

/*
 * The checks are written out here rather than with zod: the shim loads this module for every run, between one
 * queued run's end and the next one's engine, and loading zod was a quarter of the shim's start
 * (bench/jobs-queue-gap.bench.ts). A rule pushes `<path> <problem>` for each problem and says whether the value
 * passed; the whole-spec checks run only on a spec whose fields all passed.
 */
type Rule = (value: unknown, where: string, problems: string[]) => boolean;

function fail(problems: string[], where: string, message: string): false {
  problems.push(`${where || '(spec)'} ${message}`);
  return false;
}

const at = (where: string, key: string | number): string => (where === '' ? String(key) : `${where}.${key}`);

const text: Rule = (value, where, problems) =>
  typeof value !== 'string' ? fail(problems, where, 'must be a string') : value.includes('\0') ? fail(problems, where, 'contains a NUL byte') : true;

function refine(base: Rule, ok: (value: string) => boolean, message: string): Rule {
  return (value, where, problems) => base(value, where, problems) && (ok(value as string) || fail(problems, where, message));
}

const absolute = refine(text, isCleanAbsolute, 'is not an absolute, normalised path');
const bindable = refine(absolute, (value) => value !== '/', 'would expose the whole file system');
const regex = refine(text, validRegex, 'is not a valid regular expression');
const device = refine(absolute, (value) => value.startsWith('/dev/') && !value.includes('..'), 'is not a device under /dev');

function number(limits: { above?: number; min?: number; max: number; integer?: boolean }): Rule {
  return (value, where, problems) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return fail(problems, where, 'must be a number');
    if (limits.integer === true && !Number.isInteger(value)) return fail(problems, where, 'must be an integer');
    if (limits.above !== undefined && !(value > limits.above)) return fail(problems, where, `must be greater than ${limits.above}`);
    if (limits.min !== undefined && value < limits.min) return fail(problems, where, `must be at least ${limits.min}`);
    return value <= limits.max || fail(problems, where, `must be at most ${limits.max}`);
  };
}

const seconds = number({ above: 0, max: 30 * 24 * 3600 });
const boolean: Rule = (value, where, problems) => typeof value === 'boolean' || fail(problems, where, 'must be true or false');

function oneOf(values: readonly unknown[]): Rule {
  return (value, where, problems) => values.includes(value) || fail(problems, where, `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`);
}

function array(item: Rule, min = 0): Rule {
  return (value, where, problems) => {
    if (!Array.isArray(value)) return fail(problems, where, 'must be an array');
    let ok = value.length >= min || fail(problems, where, `must have at least ${min} item(s)`);
    value.forEach((entry, index) => {
      ok = item(entry, at(where, index), problems) && ok;
    });
    return ok;
  };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function record(key: Rule, entry: Rule): Rule {
  return (value, where, problems) => {
    if (!isObject(value)) return fail(problems, where, 'must be an object');
    let ok = true;
    for (const [name, item] of Object.entries(value)) ok = key(name, at(where, name), problems) && entry(item, at(where, name), problems) && ok;
    return ok;
  };
}

/** Exactly these keys (those in `optional` may be missing); any other key is refused. */
function object(required: Record<string, Rule>, optional: Record<string, Rule> = {}): Rule {
  return (value, where, problems) => {
    if (!isObject(value)) return fail(problems, where, 'must be an object');
    let ok = true;
    for (const [key, rule] of Object.entries(required)) ok = (key in value ? rule(value[key], at(where, key), problems) : fail(problems, at(where, key), 'is required')) && ok;
    for (const [key, rule] of Object.entries(optional)) if (value[key] !== undefined) ok = rule(value[key], at(where, key), problems) && ok;
    for (const key of Object.keys(value)) if (!(key in required) && !(key in optional)) ok = fail(problems, where, `Unrecognized key: "${key}"`);
    return ok;
  };
}

const phaseRule = object(
  { phase: refine(text, (value) => value.length >= 1 && value.length <= 64, 'must be 1–64 characters'), enter: array(regex), ignoreCase: boolean },
  { idleTimeoutS: seconds, stepPattern: regex, stepFactor: number({ above: 0, max: 1e6 }), stepFloorS: seconds },
);

const specRule = object(
  {
    version: oneOf([1]),
    jobId: refine(text, (value) => /^[A-Za-z0-9_-]{1,64}$/.test(value), 'is not a job id'),
    runDir: bindable,
    workDir: bindable,
    argv: array(text, 1),
    env: record(refine(text, (name) => ENV_NAME.test(name), 'is not an environment variable name'), text),
    cwd: absolute,
    sandbox: object(
      { mode: oneOf(['bwrap', 'cgroup', 'unsandboxed']), readOnly: array(bindable), writable: array(bindable), devices: array(device) },
      { readOnlyAt: array(object({ source: bindable, target: bindable })), bwrap: absolute, shmBytes: number({ min: 1024 * 1024, max: Number.MAX_SAFE_INTEGER, integer: true }) },
    ),
    phases: array(phaseRule, 1),
    snapshots: array(object({ dir: bindable, pattern: regex, settleS: number({ min: 0, max: 3600 }) })),
    stop: object({ graceS: number({ above: 0, max: 3600 }) }),
    logs: object({ segmentBytes: number({ min: 256, max: 1024 ** 3, integer: true }), keepSegments: number({ min: 1, max: 100_000, integer: true }) }),
  },
  { secretsFile: absolute },
);

/** What no single field shows: where the folders, the engine and the environment are relative to each other. */
function crossProblems(spec: ShimSpec): string[] {
  const problems: string[] = [];
  const issue = (message: string): void => void problems.push(`(spec) ${message}`);
  if (spec.workDir !== path.join(spec.runDir, 'work')) issue('workDir must be <runDir>/work');
  if (!isCleanAbsolute(spec.argv[0] ?? '')) issue('argv[0] must be an absolute, normalised path');
  if (!within(spec.workDir, spec.cwd)) issue('cwd must be inside workDir');
  for (const dir of spec.sandbox.writable) if (!within(spec.workDir, dir)) issue(`only workDir may be writable, not ${dir}`);
  for (const snapshot of spec.snapshots) if (!within(spec.workDir, snapshot.dir)) issue(`snapshot folder ${snapshot.dir} is not inside workDir`);
  for (const name of Object.keys(spec.env)) {
    if (FORBIDDEN_ENV.has(name) || CREDENTIAL_NAME.test(name)) issue(`the environment may not carry ${name}`);
  }
  return problems;
}

export class ShimSpecError extends Error {
  override readonly name = 'ShimSpecError';
}

/** The spec from shim.json's text; throws ShimSpecError naming every problem. */
export function parseShimSpec(textContent: string, runDir: string): ShimSpec {
  let value: unknown;
  try {
    value = JSON.parse(textContent);
  } catch (error) {
    throw new ShimSpecError(`shim.json is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const problems: string[] = [];
  if (specRule(value, '', problems)) problems.push(...crossProblems(value as ShimSpec));
  if (problems.length > 0) throw new ShimSpecError(`shim.json is not a valid spec: ${problems.join('; ')}`);
  const spec = value as ShimSpec;
  if (spec.runDir !== path.resolve(runDir)) throw new ShimSpecError(`shim.json names the run folder ${spec.runDir}, not ${path.resolve(runDir)}`);
  return spec;
}

/** The engine's whole environment: the spec's, with the two variables every run must have. */
export function engineEnvironment(spec: ShimSpec): Record<string, string> {
  return { ...spec.env, ...FORCED_ENGINE_ENV };
}

/**
 * PROC-R04: a secret on the engine's command line or in its environment, whoever built the spec. Reads the
 * spec's secret store first (reading registers every stored value with the redactor), so a stored token is
 * found even where no token pattern would match it. Returns where the secret is, or null.
 */
export async function findSecretInLaunch(spec: ShimSpec): Promise<string | null> {
  if (spec.secretsFile !== undefined) await new SecretStore(spec.secretsFile, {}).list();
  const argIndex = spec.argv.findIndex((arg) => redactString(arg) !== arg);
  if (argIndex !== -1) return `the engine's argument ${argIndex} carries a secret`;
  for (const [name, value] of Object.entries(spec.env)) {
    if (redactString(value) !== value) return `the engine's environment variable ${name} carries a secret`;
  }
  return null;
}
