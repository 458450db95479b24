/**
 * Hub tokens and other secrets, in `secrets.json` (0600) inside the 0700 workspace (LOG-R01). Values are
 * registered with the redactor as soon as they are read or written, so no log line or error can carry
 * them; the API only ever sees them masked.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-write.ts';
import { LorasmithError, errnoCode } from './errors.ts';
import { registerSecret } from './redact.ts';

/** Hub credentials: `lorasmith login`, the Settings page's token list and the token checks. */
export const HUB_SECRET_NAMES = ['hf', 'civitai'] as const;
export type HubSecretName = (typeof HUB_SECRET_NAMES)[number];
/** Every secret: the hub tokens and the job webhook URL (a secret too, LOG-R05). */
export const SECRET_NAMES = [...HUB_SECRET_NAMES, 'webhook'] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

const SECRET_LABELS: Record<SecretName, string> = { hf: 'Hugging Face token', civitai: 'Civitai API key', webhook: 'Job webhook URL' };
const SECRET_ENV: Partial<Record<SecretName, string>> = { hf: 'HF_TOKEN', civitai: 'CIVITAI_TOKEN' };

function envValue(env: NodeJS.ProcessEnv, name: SecretName): string | undefined {
  const variable = SECRET_ENV[name];
  return variable === undefined ? undefined : env[variable];
}

/**
 * `{ version: 1, secrets: { name: value } }` and nothing else, or null. Checked by hand, not with zod: the run
 * shim reads this store to redact, and zod was a quarter of its start (bench/jobs-queue-gap.bench.ts).
 */
function storedSecrets(value: unknown): Record<string, string> | null {
  const isObject = (item: unknown): item is Record<string, unknown> => typeof item === 'object' && item !== null && !Array.isArray(item);
  if (!isObject(value) || value.version !== 1 || Object.keys(value).length !== 2 || !isObject(value.secrets)) return null;
  const secrets = value.secrets;
  return Object.values(secrets).every((item) => typeof item === 'string') ? { ...(secrets as Record<string, string>) } : null;
}

export interface SecretSummary {
  name: SecretName;
  label: string;
  present: boolean;
  masked: string | null;
  source: 'store' | 'env' | null;
}

/**
 * `hf_…abcd`: enough to tell two tokens apart, never enough to use one. A URL (the webhook) shows its scheme and
 * host only: its path and query are the secret part.
 */
export function maskSecret(value: string): string {
  if (/^https?:\/\//i.test(value)) {
    try {
      const url = new URL(value);
      return `${url.protocol}//${url.host}/…`;
    } catch {
      return '…';
    }
  }
  const prefix = /^[a-z]{2,4}_/.exec(value)?.[0] ?? '';
  return value.length < 12 ? '…' : `${prefix}…${value.slice(-4)}`;
}

/** A hub token's name (`hf`, `civitai`), as `login` and the token routes take it. */
export function parseSecretName(name: string): HubSecretName {
  if ((HUB_SECRET_NAMES as readonly string[]).includes(name)) return name as HubSecretName;
  throw new LorasmithError({
    code: 'secret-unknown',
    message: `There is no hub token named ${JSON.stringify(name)}.`,
    hint: `Known hub tokens: ${HUB_SECRET_NAMES.join(', ')}.`,
    status: 404,
  });
}

export class SecretStore {
  readonly #file: string;
  readonly #env: NodeJS.ProcessEnv;

  constructor(file: string, env: NodeJS.ProcessEnv = process.env) {
    this.#file = file;
    this.#env = env;
    for (const name of SECRET_NAMES) registerSecret(envValue(env, name));
  }

  async #read(): Promise<Record<string, string>> {
    let text: string;
    try {
      text = await readFile(this.#file, 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return {};
      throw error;
    }
    const secrets = storedSecrets(JSON.parse(text));
    if (secrets === null) {
      throw new LorasmithError({
        code: 'secrets-corrupt',
        message: `The secret store ${this.#file} is not in the expected format.`,
        hint: 'Move the file away and save your tokens again (Settings → Hub tokens, or `lorasmith login`).',
      });
    }
    for (const value of Object.values(secrets)) registerSecret(value);
    return secrets;
  }

  /** The value to use: the store first, then the environment (HF_TOKEN, CIVITAI_TOKEN). */
  async get(name: SecretName): Promise<string | null> {
    const stored = (await this.#read())[name];
    return stored ?? envValue(this.#env, name) ?? null;
  }

  async set(name: SecretName, value: string): Promise<SecretSummary> {
    const trimmed = value.trim();
    if (trimmed.length < 8 || trimmed.length > 4096 || /\s/.test(trimmed)) {
      throw new LorasmithError({
        code: 'secret-invalid',
        message: `That ${SECRET_LABELS[name]} does not look like a token (8–4096 characters, no spaces).`,
        hint: 'Copy the whole token from the hub’s settings page and paste it again.',
      });
    }
    registerSecret(trimmed);
    const secrets = await this.#read();
    secrets[name] = trimmed;
    await writeFileAtomic(this.#file, `${JSON.stringify({ version: 1, secrets }, null, 2)}\n`, 0o600);
    return this.summary(name);
  }

  async delete(name: SecretName): Promise<SecretSummary> {
    const secrets = await this.#read();
    // A deleted token stays registered with the redactor: it may still be valid on the hub.
    if (secrets[name] !== undefined) {
      delete secrets[name];
      await writeFileAtomic(this.#file, `${JSON.stringify({ version: 1, secrets }, null, 2)}\n`, 0o600);
    }
    return this.summary(name);
  }

  async summary(name: SecretName): Promise<SecretSummary> {
    const stored = (await this.#read())[name];
    const fromEnv = envValue(this.#env, name);
    const value = stored ?? fromEnv;
    return {
      name,
      label: SECRET_LABELS[name],
      present: value !== undefined && value !== '',
      masked: value ? maskSecret(value) : null,
      source: stored !== undefined ? 'store' : fromEnv ? 'env' : null,
    };
  }

  /** The hub tokens (the Settings page's list); the webhook has its own section. */
  async list(): Promise<SecretSummary[]> {
    return Promise.all(HUB_SECRET_NAMES.map((name) => this.summary(name)));
  }
}
