/**
 * The hub's own database (`hub/hub.db` in the agent home, synchronous=FULL): module identities and
 * keys, what each module subscribed to (so a module's MQTT session survives a hub restart, as the
 * device SDK expects with clean-session off), module twins, and the hub's port.
 */
import { type Db, type Migration, openDb } from '../../common/db.js';

export const HUB_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: (db) => {
      db.exec(`
        CREATE TABLE module_identities (
          module_id TEXT PRIMARY KEY,
          primary_key TEXT NOT NULL,
          secondary_key TEXT NOT NULL,
          created_at TEXT NOT NULL
        );
        CREATE TABLE module_sessions (
          module_id TEXT PRIMARY KEY,
          features TEXT NOT NULL           -- JSON array of features (twinResponses, desired, methods, inputs)
        );
        CREATE TABLE module_twins (
          module_id TEXT PRIMARY KEY,
          desired TEXT NOT NULL,
          desired_version INTEGER NOT NULL,
          reported TEXT NOT NULL,
          reported_version INTEGER NOT NULL
        );
        CREATE TABLE settings (
          name TEXT PRIMARY KEY,
          value TEXT NOT NULL
        );
      `);
    },
  },
];

export function openHubDb(path: string): Db {
  return openDb(path, { synchronous: 'FULL', migrations: HUB_MIGRATIONS });
}
