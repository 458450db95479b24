/**
 * The per-install API secret (WEB-R05): the CLI's credential, in `api-secret` (0600). The server compares
 * digests of it on each bearer request and re-reads the file when it changes, so `lorasmith token rotate`
 * stops the old value at once, even while the studio runs.
 */
import { readFile, stat } from 'node:fs/promises';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { errnoCode } from '../core/errors.ts';
import { registerSecret } from '../core/redact.ts';
import { newCredential, sha256Hex } from './credentials.ts';

export async function readApiSecret(file: string): Promise<string | null> {
  try {
    const value = (await readFile(file, 'utf8')).trim();
    registerSecret(value);
    return value === '' ? null : value;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null;
    throw error;
  }
}

export async function rotateApiSecret(file: string): Promise<string> {
  const value = newCredential('lsm');
  registerSecret(value);
  await writeFileAtomic(file, `${value}\n`, 0o600);
  return value;
}

export async function ensureApiSecret(file: string): Promise<string> {
  return (await readApiSecret(file)) ?? rotateApiSecret(file);
}

/** Digest of the current secret, cached on the file's identity and change time. */
export class ApiSecretDigest {
  readonly #file: string;
  #stamp = '';
  #digest: string | null = null;

  constructor(file: string) {
    this.#file = file;
  }

  async current(): Promise<string | null> {
    let stamp: string;
    try {
      const info = await stat(this.#file, { bigint: true });
      stamp = `${info.ino}:${info.mtimeNs}:${info.size}`;
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return null;
      throw error;
    }
    if (stamp !== this.#stamp) {
      const value = await readApiSecret(this.#file);
      this.#digest = value === null ? null : sha256Hex(value);
      this.#stamp = stamp;
    }
    return this.#digest;
  }
}
