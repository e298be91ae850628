import Database from 'better-sqlite3';
import { ModelportError } from './errors.js';

export type Db = Database.Database;

export interface Migration {
  version: number;
  up: (db: Db) => void;
}

export interface OpenDbOptions {
  /**
   * FULL for state that must survive power loss (registry, agent state, outbox); NORMAL for caches.
   * With WAL, NORMAL can lose the last transactions on power loss but never corrupts the file.
   */
  synchronous?: 'FULL' | 'NORMAL';
  migrations?: readonly Migration[];
  readonly?: boolean;
}

/**
 * The one way to open a SQLite database: WAL, chosen sync level, foreign keys, busy timeout,
 * and migrations applied in one transaction that sets user_version.
 */
export function openDb(path: string, options: OpenDbOptions = {}): Db {
  let db: Db;
  try {
    db = new Database(path, {
      readonly: options.readonly ?? false,
      fileMustExist: options.readonly ?? false,
    });
  } catch (cause) {
    throw new ModelportError('DB_OPEN_FAILED', `cannot open database ${path}: ${(cause as Error).message}`, {
      hint: 'check that the folder exists and is writable',
      cause,
    });
  }
  try {
    if (!options.readonly) db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    if (options.migrations) migrate(db, options.migrations, path);
    return db;
  } catch (cause) {
    db.close();
    if (cause instanceof ModelportError) throw cause;
    throw new ModelportError('DB_OPEN_FAILED', `cannot use database ${path}: ${(cause as Error).message}`, {
      hint: 'the file may be corrupt or on a read-only file system',
      cause,
    });
  }
}

function migrate(db: Db, migrations: readonly Migration[], path: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  if (current > latest) {
    throw new ModelportError(
      'DB_TOO_NEW',
      `database ${path} has schema version ${current}, newer than this program knows (${latest})`,
      { hint: 'upgrade modelport, or point it at another home folder' },
    );
  }
  const pending = migrations.filter((m) => m.version > current).sort((a, b) => a.version - b.version);
  if (pending.length === 0) return;
  db.transaction(() => {
    for (const m of pending) m.up(db);
    db.pragma(`user_version = ${latest}`);
  }).immediate();
}

/** Closes with the optimizer hint SQLite recommends before a long-lived connection ends. */
export function closeDb(db: Db): void {
  if (!db.open) return;
  try {
    if (!db.readonly) db.pragma('optimize');
  } finally {
    db.close();
  }
}
