/**
 * The watch's memory and its view of the registry, on one connection to the registry's SQLite file
 * (`registry.db`, migration 3 adds the watch tables):
 * - `watch_rollouts`: what was applied to each target, so a restarted watch does not deploy it again;
 * - `watch_gate_decisions`: what the gate said about each model version, per target;
 * - a snapshot of the referenced models' versions and of the packaged images, read with two small
 *   queries, and `PRAGMA data_version`, which changes only when another connection (a `modelport
 *   model register`, `modelport package`) commits: the cheap "did anything change?" of each poll.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Statement } from 'better-sqlite3';
import { closeDb, type Db, openDb } from '../../common/db.js';
import { REGISTRY_MIGRATIONS } from '../registry/migrations.js';
import type {
  GateDecision,
  ModelVersion,
  PackagedImageFacts,
  RegistrySnapshot,
  ResolvedModel,
  RolloutRecord,
} from './types.js';

interface RolloutRow {
  target: string;
  rollout_key: string;
  spec_path: string;
  spec_hash: string;
  models: string;
  images: string;
  deployment_id: string | null;
  priority: number | null;
  manifest_digest: string | null;
  applied_at: string;
}

interface DecisionRow {
  name: string;
  version: number;
  digest: string;
  accepted: number;
  detail: string;
  decided_at: string;
}

export class WatchState {
  private readonly lastRow: Statement;
  private readonly insertRollout: Statement;
  private readonly decisionRows: Statement;
  private readonly upsertDecision: Statement;
  private readonly versionRows: Statement;
  private readonly packagedRows: Statement;

  constructor(
    private readonly db: Db,
    private readonly options: { now?: () => Date; ownsDb?: boolean } = {},
  ) {
    this.lastRow = db.prepare('SELECT * FROM watch_rollouts WHERE target = ? ORDER BY id DESC LIMIT 1');
    this.insertRollout = db.prepare(
      `INSERT INTO watch_rollouts (target, rollout_key, spec_path, spec_hash, models, images, deployment_id,
         priority, manifest_digest, applied_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.decisionRows = db.prepare('SELECT * FROM watch_gate_decisions WHERE target = ?');
    this.upsertDecision = db.prepare(
      `INSERT INTO watch_gate_decisions (target, name, version, digest, accepted, detail, decided_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(target, name, version) DO UPDATE SET digest = excluded.digest, accepted = excluded.accepted,
         detail = excluded.detail, decided_at = excluded.decided_at`,
    );
    this.versionRows = db.prepare(
      `SELECT name, version, digest FROM models
       WHERE name IN (SELECT value FROM json_each(?)) ORDER BY name, version`,
    );
    this.packagedRows = db.prepare('SELECT image, digest, platform, models FROM packaged_images');
  }

  /** Opens (creating and migrating) `registry.db` under the modelport home. */
  static open(home: string, options: { now?: () => Date } = {}): WatchState {
    const root = resolve(home);
    mkdirSync(root, { recursive: true });
    const db = openDb(join(root, 'registry.db'), { synchronous: 'FULL', migrations: REGISTRY_MIGRATIONS });
    return new WatchState(db, { ...options, ownsDb: true });
  }

  close(): void {
    if (this.options.ownsDb) closeDb(this.db);
  }

  /** Changes when another connection commits (a model registered, an image packaged). */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  snapshot(names: readonly string[]): RegistrySnapshot {
    const versions = new Map<string, ModelVersion[]>();
    for (const row of this.versionRows.all(JSON.stringify([...new Set(names)])) as ModelVersion[]) {
      versions.set(row.name, [...(versions.get(row.name) ?? []), row]);
    }
    const packaged = (
      this.packagedRows.all() as { image: string; digest: string | null; platform: string; models: string }[]
    ).map(
      (r): PackagedImageFacts => ({
        image: r.image,
        digest: r.digest,
        platform: r.platform,
        models: JSON.parse(r.models) as ModelVersion[],
      }),
    );
    return { versions, packaged };
  }

  lastRollout(target: string): RolloutRecord | undefined {
    const row = this.lastRow.get(target) as RolloutRow | undefined;
    if (!row) return undefined;
    return {
      target: row.target,
      key: row.rollout_key,
      specPath: row.spec_path,
      specHash: row.spec_hash,
      models: JSON.parse(row.models) as ResolvedModel[],
      images: JSON.parse(row.images) as Record<string, string>,
      ...(row.deployment_id !== null && { deploymentId: row.deployment_id }),
      ...(row.priority !== null && { priority: row.priority }),
      ...(row.manifest_digest !== null && { manifestDigest: row.manifest_digest }),
      appliedAt: row.applied_at,
    };
  }

  recordRollout(record: Omit<RolloutRecord, 'appliedAt'>): RolloutRecord {
    const appliedAt = this.now();
    this.insertRollout.run(
      record.target,
      record.key,
      record.specPath,
      record.specHash,
      JSON.stringify(record.models),
      JSON.stringify(record.images),
      record.deploymentId ?? null,
      record.priority ?? null,
      record.manifestDigest ?? null,
      appliedAt,
    );
    return { ...record, appliedAt };
  }

  decisions(target: string): Map<string, GateDecision> {
    const out = new Map<string, GateDecision>();
    for (const r of this.decisionRows.all(target) as DecisionRow[]) {
      out.set(`${r.name}:${r.version}`, {
        name: r.name,
        version: r.version,
        digest: r.digest,
        accepted: r.accepted === 1,
        detail: r.detail,
        decidedAt: r.decided_at,
      });
    }
    return out;
  }

  recordDecision(target: string, decision: Omit<GateDecision, 'decidedAt'>): GateDecision {
    const decidedAt = this.now();
    this.upsertDecision.run(
      target,
      decision.name,
      decision.version,
      decision.digest,
      decision.accepted ? 1 : 0,
      decision.detail,
      decidedAt,
    );
    return { ...decision, decidedAt };
  }

  private now(): string {
    return (this.options.now?.() ?? new Date()).toISOString();
  }
}
