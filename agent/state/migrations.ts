import type { Migration } from '../../common/db.js';

/** The agent's state database (`agent.db` in MODELPORT_AGENT_HOME). */
export const AGENT_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: (db) => {
      db.exec(`
        -- Every desired document as received (twin desired properties or manifest file), with what
        -- became of it. The last known good deployment is the newest row with status 'succeeded'.
        CREATE TABLE desired (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          version INTEGER NOT NULL,
          source TEXT NOT NULL,
          content_hash TEXT NOT NULL,
          body TEXT NOT NULL,
          received_at TEXT NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('received', 'invalid', 'applying', 'succeeded', 'failed')),
          status_code INTEGER,
          status_description TEXT,
          updated_at TEXT NOT NULL
        );
        CREATE INDEX desired_status ON desired(status, id);

        -- The $edgeHub desired properties as received (the hub's routes come from here).
        CREATE TABLE edgehub_desired (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          version INTEGER NOT NULL,
          body TEXT NOT NULL,
          received_at TEXT NOT NULL
        );

        -- What happened to each module, newest last (pruned to the last rows).
        CREATE TABLE module_history (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          module TEXT NOT NULL,
          at TEXT NOT NULL,
          event TEXT NOT NULL,
          desired_id INTEGER,
          detail TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX module_history_module ON module_history(module, id);

        -- Restart back-off survives an agent restart.
        CREATE TABLE module_stats (
          module TEXT PRIMARY KEY,
          restart_count INTEGER NOT NULL DEFAULT 0,
          last_restart_at INTEGER,
          stopped_by_agent INTEGER NOT NULL DEFAULT 0
        );

        -- Small named values: the reported document last written, the local version counter.
        CREATE TABLE agent_meta (
          key TEXT PRIMARY KEY,
          value TEXT NOT NULL
        );
      `);
    },
  },
];
