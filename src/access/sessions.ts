/**
 * Browser sessions (WEB-R05): the cookie holds a random secret, the database its digest with an expiry.
 * Sessions survive a server restart until they expire; a revoked or expired one stops working at once.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../core/db/open-database.ts';
import { LorasmithError } from '../core/errors.ts';
import { registerSecret } from '../core/redact.ts';
import { newCredential, sha256Hex } from './credentials.ts';

export interface SessionInfo {
  id: string;
  createdAt: string;
  expiresAt: string;
  lastSeenAt: string;
  userAgent: string | null;
}

export interface ActiveSession extends SessionInfo {
  csrfToken: string;
}

/** Touching `last_seen_at` on every request would write on every request; once a minute is plenty. */
const TOUCH_INTERVAL_MS = 60_000;

export class Sessions {
  readonly #db: Db;
  readonly #now: () => Date;

  constructor(db: Db, now: () => Date = () => new Date()) {
    this.#db = db;
    this.#now = now;
  }

  async create(params: { ttlHours: number; userAgent: string | null }): Promise<{ secret: string; session: ActiveSession }> {
    const now = this.#now();
    const secret = newCredential('lss');
    registerSecret(secret);
    const session: ActiveSession = {
      id: randomBytes(9).toString('base64url'),
      csrfToken: randomBytes(24).toString('base64url'),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + params.ttlHours * 3_600_000).toISOString(),
      lastSeenAt: now.toISOString(),
      userAgent: params.userAgent?.slice(0, 300) ?? null,
    };
    registerSecret(session.csrfToken);
    await this.#db
      .insertInto('sessions')
      .values({
        id: session.id,
        secret_hash: sha256Hex(secret),
        csrf_token: session.csrfToken,
        created_at: session.createdAt,
        expires_at: session.expiresAt,
        last_seen_at: session.lastSeenAt,
        user_agent: session.userAgent,
        revoked_at: null,
      })
      .execute();
    return { secret, session };
  }

  /** The live session whose cookie secret this is, or null (unknown, revoked or expired). */
  async authenticate(secret: string): Promise<ActiveSession | null> {
    const now = this.#now();
    const row = await this.#db
      .selectFrom('sessions')
      .selectAll()
      .where('secret_hash', '=', sha256Hex(secret))
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now.toISOString())
      .executeTakeFirst();
    if (row === undefined) return null;
    registerSecret(row.csrf_token);
    if (now.getTime() - Date.parse(row.last_seen_at) > TOUCH_INTERVAL_MS) {
      await this.#db.updateTable('sessions').set({ last_seen_at: now.toISOString() }).where('id', '=', row.id).execute();
    }
    return {
      id: row.id,
      csrfToken: row.csrf_token,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      lastSeenAt: row.last_seen_at,
      userAgent: row.user_agent,
    };
  }

  async list(): Promise<SessionInfo[]> {
    const rows = await this.#db
      .selectFrom('sessions')
      .select(['id', 'created_at', 'expires_at', 'last_seen_at', 'user_agent'])
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', this.#now().toISOString())
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map((row) => ({
      id: row.id,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      lastSeenAt: row.last_seen_at,
      userAgent: row.user_agent,
    }));
  }

  async revoke(id: string): Promise<void> {
    const result = await this.#db
      .updateTable('sessions')
      .set({ revoked_at: this.#now().toISOString() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (result.numUpdatedRows !== 1n) {
      throw new LorasmithError({
        code: 'session-not-found',
        message: `There is no active session ${JSON.stringify(id)}.`,
        hint: 'List the sessions in Settings → Browser sessions.',
        status: 404,
      });
    }
  }
}
