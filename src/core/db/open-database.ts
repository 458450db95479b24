import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { chmodSync, existsSync } from 'node:fs';
import { LorasmithError } from '../errors.ts';
import { MIGRATIONS, migrate } from './migrations.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;

export interface OpenDatabaseResult {
  db: Db;
  /** The raw handle, for synchronous transactions where the ordering matters (claims, counters). */
  raw: BetterSqlite3.Database;
  close(): Promise<void>;
}

/**
 * Open (creating when missing) the workspace database: WAL so the server and CLI processes can share it,
 * a busy timeout so they wait for each other instead of failing, foreign keys on, migrations applied.
 */
export function openDatabase(file: string): OpenDatabaseResult {
  const created = !existsSync(file);
  const raw = new BetterSqlite3(file, { timeout: 5000 });
  if (created && file !== ':memory:') chmodSync(file, 0o600);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  const version = migrate(raw);
  const newest = MIGRATIONS.at(-1)?.version ?? 0;
  if (version > newest) {
    raw.close();
    throw new LorasmithError({
      code: 'database-newer',
      message: `The workspace database (schema ${version}) was written by a newer lorasmith (this one knows ${newest}).`,
      hint: 'Upgrade lorasmith, or point LORASMITH_HOME at another workspace.',
    });
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  return {
    db,
    raw,
    close: async () => {
      await db.destroy();
    },
  };
}
