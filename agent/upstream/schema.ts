import type { Migration } from '../../common/db.js';

/**
 * The outbox database (`outbox.db` in the agent's home). One row per message and endpoint; the
 * queue is read in pages through `messages_pump`, never loaded whole. `totals` and `counters` are
 * updated in the same transactions as the rows they count, so they survive a crash consistent.
 */
export const OUTBOX_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: (db) => {
      db.exec(`
        CREATE TABLE messages (
          seq INTEGER PRIMARY KEY,            -- arrival order (assigned by the outbox, increasing)
          endpoint TEXT NOT NULL,             -- '$upstream' or 'modules/{m}/inputs/{i}'
          message_id TEXT NOT NULL,
          priority INTEGER NOT NULL,          -- 0 first … 10 (no priority given)
          enqueued_at INTEGER NOT NULL,       -- epoch ms
          expires_at INTEGER NOT NULL,        -- epoch ms; 9007199254740991 = never
          source TEXT NOT NULL,
          route TEXT NOT NULL,
          properties TEXT NOT NULL,           -- JSON {app, sys}
          body BLOB NOT NULL,
          size INTEGER NOT NULL               -- bytes counted against the disk cap
        );
        CREATE INDEX messages_pump ON messages(endpoint, priority, seq);
        CREATE INDEX messages_expiry ON messages(expires_at);

        CREATE TABLE totals (
          endpoint TEXT NOT NULL,
          priority INTEGER NOT NULL,
          count INTEGER NOT NULL,
          bytes INTEGER NOT NULL,
          PRIMARY KEY (endpoint, priority)
        ) WITHOUT ROWID;

        -- Lifetime counts: enqueued, sent, expired, evicted, rejected.
        CREATE TABLE counters (
          name TEXT PRIMARY KEY,
          value INTEGER NOT NULL
        ) WITHOUT ROWID;
      `);
    },
  },
];
