/**
 * One-time pairing codes (WEB-R05): the only credential that appears in a URL, so it is random,
 * short-lived and single-use; redeeming it is one conditional UPDATE, so two racing uses cannot both win.
 */
import type { Db } from '../core/db/open-database.ts';
import { registerSecret } from '../core/redact.ts';
import { newCredential, sha256Hex } from './credentials.ts';

export class PairingCodes {
  readonly #db: Db;
  readonly #now: () => Date;

  constructor(db: Db, now: () => Date = () => new Date()) {
    this.#db = db;
    this.#now = now;
  }

  async issue(ttlSeconds: number): Promise<{ code: string; expiresAt: string }> {
    const now = this.#now();
    const code = newCredential('lsp');
    registerSecret(code);
    const expiresAt = new Date(now.getTime() + ttlSeconds * 1000).toISOString();
    await this.#db
      .insertInto('pairing_codes')
      .values({ code_hash: sha256Hex(code), created_at: now.toISOString(), expires_at: expiresAt, used_at: null })
      .execute();
    // Spent and expired codes are of no use to anyone: keep the table small.
    await this.#db.deleteFrom('pairing_codes').where('expires_at', '<', now.toISOString()).execute();
    return { code, expiresAt };
  }

  async redeem(code: string): Promise<boolean> {
    const now = this.#now().toISOString();
    const result = await this.#db
      .updateTable('pairing_codes')
      .set({ used_at: now })
      .where('code_hash', '=', sha256Hex(code))
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }
}
