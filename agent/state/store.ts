/**
 * The agent's SQLite state (better-sqlite3 through common/db `openDb`: WAL, synchronous=FULL):
 * desired documents as received with their fate, the last known good one, the $edgeHub desired
 * properties, per-module history and restart stats. After a restart without network the agent
 * resumes from here.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../../common/canonical-json.js';
import { closeDb, type Db, openDb } from '../../common/db.js';
import type { ModuleStats } from '../reconcile/types.js';
import { AGENT_MIGRATIONS } from './migrations.js';

export type DesiredStatus = 'received' | 'invalid' | 'applying' | 'succeeded' | 'failed';

export interface DesiredRecord {
  id: number;
  /** The twin's `$version`, or a local counter for manifest files. */
  version: number;
  /** `twin` or `file:<path>`. */
  source: string;
  contentHash: string;
  /** The document as received (JSON text). */
  body: string;
  receivedAt: string;
  status: DesiredStatus;
  statusCode: number | undefined;
  statusDescription: string | undefined;
}

export interface HistoryEntry {
  module: string;
  at: string;
  event: string;
  desiredId: number | undefined;
  detail: string;
}

interface DesiredRow {
  id: number;
  version: number;
  source: string;
  content_hash: string;
  body: string;
  received_at: string;
  status: DesiredStatus;
  status_code: number | null;
  status_description: string | null;
}

const HISTORY_KEPT = 5_000;

const toRecord = (r: DesiredRow): DesiredRecord => ({
  id: r.id,
  version: r.version,
  source: r.source,
  contentHash: r.content_hash,
  body: r.body,
  receivedAt: r.received_at,
  status: r.status,
  statusCode: r.status_code ?? undefined,
  statusDescription: r.status_description ?? undefined,
});

export class AgentStore {
  private readonly stmts;

  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.stmts = {
      insertDesired: db.prepare(
        `INSERT INTO desired (version, source, content_hash, body, received_at, status, updated_at)
         VALUES (?, ?, ?, ?, ?, 'received', ?) RETURNING *`,
      ),
      latestDesired: db.prepare('SELECT * FROM desired ORDER BY id DESC LIMIT 1'),
      desiredById: db.prepare('SELECT * FROM desired WHERE id = ?'),
      lastKnownGood: db.prepare("SELECT * FROM desired WHERE status = 'succeeded' ORDER BY id DESC LIMIT 1"),
      maxVersion: db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM desired'),
      setStatus: db.prepare(
        'UPDATE desired SET status = ?, status_code = ?, status_description = ?, updated_at = ? WHERE id = ?',
      ),
      insertHub: db.prepare('INSERT INTO edgehub_desired (version, body, received_at) VALUES (?, ?, ?)'),
      latestHub: db.prepare('SELECT version, body FROM edgehub_desired ORDER BY id DESC LIMIT 1'),
      allStats: db.prepare('SELECT * FROM module_stats'),
      recordRestart: db.prepare(
        `INSERT INTO module_stats (module, restart_count, last_restart_at, stopped_by_agent) VALUES (?, 1, ?, 0)
         ON CONFLICT(module) DO UPDATE SET restart_count = restart_count + 1, last_restart_at = excluded.last_restart_at,
           stopped_by_agent = 0`,
      ),
      clearStats: db.prepare('DELETE FROM module_stats WHERE module = ?'),
      setStopped: db.prepare(
        `INSERT INTO module_stats (module, stopped_by_agent) VALUES (?, ?)
         ON CONFLICT(module) DO UPDATE SET stopped_by_agent = excluded.stopped_by_agent`,
      ),
      insertHistory: db.prepare(
        'INSERT INTO module_history (module, at, event, desired_id, detail) VALUES (?, ?, ?, ?, ?)',
      ),
      pruneHistory: db.prepare(
        'DELETE FROM module_history WHERE id <= (SELECT MAX(id) FROM module_history) - ?',
      ),
      history: db.prepare(
        'SELECT module, at, event, desired_id, detail FROM module_history WHERE module = ? ORDER BY id DESC LIMIT ?',
      ),
      getMeta: db.prepare('SELECT value FROM agent_meta WHERE key = ?'),
      setMeta: db.prepare(
        'INSERT INTO agent_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      ),
    };
  }

  /** Opens (creating) `agent.db` under `home`. */
  static open(home: string, now?: () => Date): AgentStore {
    mkdirSync(home, { recursive: true });
    return new AgentStore(
      openDb(join(home, 'agent.db'), { synchronous: 'FULL', migrations: AGENT_MIGRATIONS }),
      now,
    );
  }

  close(): void {
    closeDb(this.db);
  }

  // ------------------------------------------------------------ desired documents

  /**
   * Stores a desired document unless it repeats the newest one (same content, and same version when
   * one is given). `version` undefined means "the next local version" (manifest files).
   */
  recordDesired(input: { version?: number; source: string; body: string }): {
    record: DesiredRecord;
    duplicate: boolean;
  } {
    const hash = sha256Hex(input.body);
    return this.db
      .transaction(() => {
        const latest = this.latestDesired();
        if (
          latest &&
          latest.contentHash === hash &&
          (input.version === undefined || input.version === latest.version)
        ) {
          return { record: latest, duplicate: true };
        }
        const version = input.version ?? (this.stmts.maxVersion.get() as { v: number }).v + 1;
        const at = this.now().toISOString();
        const row = this.stmts.insertDesired.get(
          version,
          input.source,
          hash,
          input.body,
          at,
          at,
        ) as DesiredRow;
        return { record: toRecord(row), duplicate: false };
      })
      .immediate();
  }

  latestDesired(): DesiredRecord | undefined {
    const row = this.stmts.latestDesired.get() as DesiredRow | undefined;
    return row && toRecord(row);
  }

  desired(id: number): DesiredRecord | undefined {
    const row = this.stmts.desiredById.get(id) as DesiredRow | undefined;
    return row && toRecord(row);
  }

  lastKnownGood(): DesiredRecord | undefined {
    const row = this.stmts.lastKnownGood.get() as DesiredRow | undefined;
    return row && toRecord(row);
  }

  setDesiredStatus(id: number, status: DesiredStatus, code?: number, description?: string): void {
    this.stmts.setStatus.run(status, code ?? null, description ?? null, this.now().toISOString(), id);
  }

  recordEdgeHubDesired(version: number, body: string): void {
    this.stmts.insertHub.run(version, body, this.now().toISOString());
  }

  latestEdgeHubDesired(): { version: number; body: string } | undefined {
    return this.stmts.latestHub.get() as { version: number; body: string } | undefined;
  }

  // ------------------------------------------------------------ module stats and history

  moduleStats(): Map<string, ModuleStats> {
    const rows = this.stmts.allStats.all() as {
      module: string;
      restart_count: number;
      last_restart_at: number | null;
      stopped_by_agent: number;
    }[];
    return new Map(
      rows.map((r) => [
        r.module,
        {
          restartCount: r.restart_count,
          lastRestartAt: r.last_restart_at ?? undefined,
          stoppedByAgent: r.stopped_by_agent === 1,
        },
      ]),
    );
  }

  recordRestart(module: string, at: number): void {
    this.stmts.recordRestart.run(module, at);
  }

  clearStats(module: string): void {
    this.stmts.clearStats.run(module);
  }

  setStoppedByAgent(module: string, stopped: boolean): void {
    this.stmts.setStopped.run(module, stopped ? 1 : 0);
  }

  addHistory(module: string, event: string, desiredId: number | undefined, detail = ''): void {
    const info = this.stmts.insertHistory.run(
      module,
      this.now().toISOString(),
      event,
      desiredId ?? null,
      detail,
    );
    if (Number(info.lastInsertRowid) % 500 === 0) this.stmts.pruneHistory.run(HISTORY_KEPT);
  }

  history(module: string, limit = 50): HistoryEntry[] {
    const rows = this.stmts.history.all(module, limit) as {
      module: string;
      at: string;
      event: string;
      desired_id: number | null;
      detail: string;
    }[];
    return rows.map((r) => ({
      module: r.module,
      at: r.at,
      event: r.event,
      desiredId: r.desired_id ?? undefined,
      detail: r.detail,
    }));
  }

  getMeta(key: string): string | undefined {
    return (this.stmts.getMeta.get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.stmts.setMeta.run(key, value);
  }
}
