/** Named bearer tokens for scripts (`lorasmith token create NAME`); only their digests are stored. */
import { z } from 'zod';
import type { Db } from '../core/db/open-database.ts';
import { LorasmithError } from '../core/errors.ts';
import { registerSecret } from '../core/redact.ts';
import { newCredential, sha256Hex } from './credentials.ts';

export const tokenNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-", starting with a letter or digit');

export interface NamedTokenInfo {
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export class NamedTokens {
  readonly #db: Db;
  readonly #now: () => Date;

  constructor(db: Db, now: () => Date = () => new Date()) {
    this.#db = db;
    this.#now = now;
  }

  async create(name: string): Promise<{ name: string; token: string }> {
    const parsed = tokenNameSchema.safeParse(name);
    if (!parsed.success) {
      throw new LorasmithError({
        code: 'token-name-invalid',
        message: `The token name ${JSON.stringify(name)} is not allowed.`,
        hint: 'Use 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit.',
      });
    }
    const token = newCredential('lsc');
    registerSecret(token);
    const inserted = await this.#db
      .insertInto('api_tokens')
      .values({ name, token_hash: sha256Hex(token), created_at: this.#now().toISOString(), last_used_at: null })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    if (inserted.numInsertedOrUpdatedRows !== 1n) {
      throw new LorasmithError({
        code: 'token-exists',
        message: `A token named ${JSON.stringify(name)} already exists.`,
        hint: `Remove it first with \`lorasmith token rm ${name}\`, or pick another name.`,
        status: 409,
      });
    }
    return { name, token };
  }

  async list(): Promise<NamedTokenInfo[]> {
    const rows = await this.#db.selectFrom('api_tokens').select(['name', 'created_at', 'last_used_at']).orderBy('name').execute();
    return rows.map((row) => ({ name: row.name, createdAt: row.created_at, lastUsedAt: row.last_used_at }));
  }

  async remove(name: string): Promise<void> {
    const result = await this.#db.deleteFrom('api_tokens').where('name', '=', name).executeTakeFirst();
    if (result.numDeletedRows !== 1n) {
      throw new LorasmithError({
        code: 'token-not-found',
        message: `There is no token named ${JSON.stringify(name)}.`,
        hint: 'See the names with `lorasmith token list`.',
        status: 404,
      });
    }
  }

  /** The token's name when the digest matches one; records the use. */
  async authenticate(digest: string): Promise<string | null> {
    const row = await this.#db.selectFrom('api_tokens').select('name').where('token_hash', '=', digest).executeTakeFirst();
    if (row === undefined) return null;
    await this.#db.updateTable('api_tokens').set({ last_used_at: this.#now().toISOString() }).where('name', '=', row.name).execute();
    return row.name;
  }
}
