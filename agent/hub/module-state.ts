/**
 * Per-module state the hub keeps in hub.db: twins (desired from the deployment, reported from the
 * module, each with its version) and MQTT session features. Write-through caches over SQLite.
 */
import type { Db } from '../../common/db.js';
import { HubError } from './errors.js';
import type { Feature } from './topics.js';
import { applyMergePatch, diffMergePatch, isPlainObject, type JsonObject } from './twin-patch.js';

interface TwinRow {
  module_id: string;
  desired: string;
  desired_version: number;
  reported: string;
  reported_version: number;
}

interface Twin {
  desired: JsonObject;
  desiredVersion: number;
  reported: JsonObject;
  reportedVersion: number;
}

export class ModuleTwins {
  private readonly stmts;
  private readonly twins = new Map<string, Twin>();

  constructor(db: Db) {
    this.stmts = {
      all: db.prepare<[], TwinRow>('SELECT * FROM module_twins'),
      upsert: db.prepare<[string, string, number, string, number]>(
        `INSERT INTO module_twins (module_id, desired, desired_version, reported, reported_version) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (module_id) DO UPDATE SET desired = excluded.desired, desired_version = excluded.desired_version,
           reported = excluded.reported, reported_version = excluded.reported_version`,
      ),
      remove: db.prepare<[string]>('DELETE FROM module_twins WHERE module_id = ?'),
    };
    for (const r of this.stmts.all.all()) {
      this.twins.set(r.module_id, {
        desired: JSON.parse(r.desired) as JsonObject,
        desiredVersion: r.desired_version,
        reported: JSON.parse(r.reported) as JsonObject,
        reportedVersion: r.reported_version,
      });
    }
  }

  /** The twin as `$iothub/twin/GET` returns it to a module. */
  document(moduleId: string): { desired: JsonObject; reported: JsonObject } {
    const t = this.get(moduleId);
    return {
      desired: { ...t.desired, $version: t.desiredVersion },
      reported: { ...t.reported, $version: t.reportedVersion },
    };
  }

  /** Sets the desired properties from the deployment; returns the patch to push, if anything changed. */
  setDesired(moduleId: string, desired: JsonObject): { patch: JsonObject; version: number } | undefined {
    const t = this.get(moduleId);
    const clean = withoutMetadata(desired);
    const patch = diffMergePatch(t.desired, clean);
    if (Object.keys(patch).length === 0 && this.twins.has(moduleId)) return undefined;
    const next = { ...t, desired: clean, desiredVersion: t.desiredVersion + 1 };
    this.save(moduleId, next);
    return { patch, version: next.desiredVersion };
  }

  /** Applies a module's reported patch; returns the new reported version. */
  patchReported(moduleId: string, patch: unknown): number {
    if (!isPlainObject(patch))
      throw new HubError('TWIN_PATCH_INVALID', 'a reported-properties patch must be a JSON object', {
        httpStatus: 400,
      });
    const t = this.get(moduleId);
    const next = {
      ...t,
      reported: applyMergePatch(t.reported, withoutMetadata(patch)),
      reportedVersion: t.reportedVersion + 1,
    };
    this.save(moduleId, next);
    return next.reportedVersion;
  }

  reported(moduleId: string): JsonObject {
    return { ...this.get(moduleId).reported };
  }

  remove(moduleId: string): void {
    this.twins.delete(moduleId);
    this.stmts.remove.run(moduleId);
  }

  private get(moduleId: string): Twin {
    return this.twins.get(moduleId) ?? { desired: {}, desiredVersion: 1, reported: {}, reportedVersion: 1 };
  }

  private save(moduleId: string, twin: Twin): void {
    this.stmts.upsert.run(
      moduleId,
      JSON.stringify(twin.desired),
      twin.desiredVersion,
      JSON.stringify(twin.reported),
      twin.reportedVersion,
    );
    this.twins.set(moduleId, twin);
  }
}

/** Twin metadata (`$version`, `$metadata`) is the hub's to set, not the deployment's or the module's. */
function withoutMetadata(o: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith('$')));
}

export class ModuleSessions {
  private readonly stmts;
  private readonly features = new Map<string, Set<Feature>>();

  constructor(db: Db) {
    this.stmts = {
      all: db.prepare<[], { module_id: string; features: string }>('SELECT * FROM module_sessions'),
      upsert: db.prepare<[string, string]>(
        `INSERT INTO module_sessions (module_id, features) VALUES (?, ?)
         ON CONFLICT (module_id) DO UPDATE SET features = excluded.features`,
      ),
    };
    for (const r of this.stmts.all.all())
      this.features.set(r.module_id, new Set(JSON.parse(r.features) as Feature[]));
  }

  has(moduleId: string, feature: Feature): boolean {
    return this.features.get(moduleId)?.has(feature) ?? false;
  }

  list(moduleId: string): Feature[] {
    return [...(this.features.get(moduleId) ?? [])].sort();
  }

  add(moduleId: string, feature: Feature): void {
    const set = this.features.get(moduleId) ?? new Set();
    if (set.has(feature)) return;
    set.add(feature);
    this.save(moduleId, set);
  }

  delete(moduleId: string, feature: Feature): void {
    const set = this.features.get(moduleId);
    if (set?.delete(feature)) this.save(moduleId, set);
  }

  /** A clean-session CONNECT starts without subscriptions. */
  clear(moduleId: string): void {
    if ((this.features.get(moduleId)?.size ?? 0) > 0) this.save(moduleId, new Set());
  }

  private save(moduleId: string, set: Set<Feature>): void {
    this.features.set(moduleId, set);
    this.stmts.upsert.run(moduleId, JSON.stringify([...set].sort()));
  }
}
