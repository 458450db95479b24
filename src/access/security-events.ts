/**
 * The security event log: auth failures, refused requests, credential changes; later issues add refused
 * files and unsandboxed runs as kinds of their own. Details pass through the redactor before they are stored, and listeners (the studio's SSE
 * stream) hear each new event.
 */
import { EventEmitter } from 'node:events';
import type { Db } from '../core/db/open-database.ts';
import { redactString } from '../core/redact.ts';

export const SECURITY_EVENT_KINDS = [
  'auth-failed',
  'auth-backoff',
  'host-refused',
  'origin-refused',
  'content-type-refused',
  'upgrade-refused',
  'csrf-refused',
  'rate-limited',
  'session-revoked',
  'token-rotated',
  'token-created',
  'token-removed',
  'file-refused',
  'operator-paths-refused',
] as const;
export type SecurityEventKind = (typeof SECURITY_EVENT_KINDS)[number];

export interface SecurityEvent {
  id: number;
  at: string;
  kind: SecurityEventKind;
  detail: string;
  remote: string | null;
}

export class SecurityEvents {
  readonly #db: Db;
  readonly #now: () => Date;
  readonly #emitter = new EventEmitter();

  constructor(db: Db, now: () => Date = () => new Date()) {
    this.#db = db;
    this.#now = now;
    this.#emitter.setMaxListeners(0);
  }

  async record(kind: SecurityEventKind, detail: string, remote: string | null = null): Promise<SecurityEvent> {
    const at = this.#now().toISOString();
    const clean = redactString(detail).slice(0, 1000);
    const row = await this.#db
      .insertInto('security_events')
      .values({ at, kind, detail: clean, remote })
      .returning('id')
      .executeTakeFirstOrThrow();
    const event: SecurityEvent = { id: row.id, at, kind, detail: clean, remote };
    this.#emitter.emit('event', event);
    return event;
  }

  async list(limit = 100): Promise<SecurityEvent[]> {
    const rows = await this.#db.selectFrom('security_events').selectAll().orderBy('id', 'desc').limit(limit).execute();
    return rows.map((row) => ({ ...row, kind: row.kind as SecurityEventKind }));
  }

  subscribe(listener: (event: SecurityEvent) => void): () => void {
    this.#emitter.on('event', listener);
    return () => this.#emitter.off('event', listener);
  }
}
