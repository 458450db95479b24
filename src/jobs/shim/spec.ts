/**
 * shim.json as the shim accepts it. The server builds the spec, but the shim checks it again before it
 * starts anything (defence in depth, PROC-R02/R03/R05): absolute normalised paths, only `work/` writable, an
 * environment without credentials or loader hooks, valid patterns. The engine's environment always carries
 * TORCH_FORCE_WEIGHTS_ONLY_LOAD=1 and HF_HUB_OFFLINE=1, whatever the spec says.
 */
import path from 'node:path';
import { z } from 'zod';
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

const text = z.string().refine((value) => !value.includes('\0'), 'contains a NUL byte');
const absolute = text.refine(isCleanAbsolute, 'is not an absolute, normalised path');
const bindable = absolute.refine((value) => value !== '/', 'would expose the whole file system');
const regex = text.refine(validRegex, 'is not a valid regular expression');
const seconds = z.number().positive().max(30 * 24 * 3600);

const phaseSchema = z
  .object({
    phase: z.string().min(1).max(64),
    enter: z.array(regex),
    ignoreCase: z.boolean(),
    idleTimeoutS: seconds.optional(),
    stepPattern: regex.optional(),
    stepFactor: z.number().positive().max(1e6).optional(),
    stepFloorS: seconds.optional(),
  })
  .strict();

const specSchema = z
  .object({
    version: z.literal(1),
    jobId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    runDir: bindable,
    workDir: bindable,
    argv: z.array(text).min(1),
    env: z.record(z.string().regex(ENV_NAME), text),
    cwd: absolute,
    sandbox: z
      .object({
        mode: z.enum(['bwrap', 'cgroup', 'unsandboxed']),
        readOnly: z.array(bindable),
        readOnlyAt: z.array(z.object({ source: bindable, target: bindable }).strict()).optional(),
        writable: z.array(bindable),
        devices: z.array(absolute.refine((value) => value.startsWith('/dev/') && !value.includes('..'), 'is not a device under /dev')),
        bwrap: absolute.optional(),
        shmBytes: z.number().int().min(1024 * 1024).optional(),
      })
      .strict(),
    phases: z.array(phaseSchema).min(1),
    snapshots: z.array(z.object({ dir: bindable, pattern: regex, settleS: z.number().min(0).max(3600) }).strict()),
    stop: z.object({ graceS: z.number().positive().max(3600) }).strict(),
    logs: z.object({ segmentBytes: z.number().int().min(256).max(1024 ** 3), keepSegments: z.number().int().min(1).max(100_000) }).strict(),
    secretsFile: absolute.optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const issue = (message: string): void => ctx.addIssue({ code: 'custom', message });
    if (spec.workDir !== path.join(spec.runDir, 'work')) issue('workDir must be <runDir>/work');
    if (!isCleanAbsolute(spec.argv[0] ?? '')) issue('argv[0] must be an absolute, normalised path');
    if (!within(spec.workDir, spec.cwd)) issue('cwd must be inside workDir');
    for (const dir of spec.sandbox.writable) if (!within(spec.workDir, dir)) issue(`only workDir may be writable, not ${dir}`);
    for (const snapshot of spec.snapshots) if (!within(spec.workDir, snapshot.dir)) issue(`snapshot folder ${snapshot.dir} is not inside workDir`);
    for (const name of Object.keys(spec.env)) {
      if (FORBIDDEN_ENV.has(name) || CREDENTIAL_NAME.test(name)) issue(`the environment may not carry ${name}`);
    }
  });

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
  const parsed = specSchema.safeParse(value);
  if (!parsed.success) {
    throw new ShimSpecError(`shim.json is not a valid spec: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(spec)'} ${i.message}`).join('; ')}`);
  }
  if (parsed.data.runDir !== path.resolve(runDir)) throw new ShimSpecError(`shim.json names the run folder ${parsed.data.runDir}, not ${path.resolve(runDir)}`);
  return parsed.data as ShimSpec;
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
