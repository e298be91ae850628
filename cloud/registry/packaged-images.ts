import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Statement } from 'better-sqlite3';
import { canonicalJson } from '../../common/canonical-json.js';
import { closeDb, type Db, openDb } from '../../common/db.js';
import { UsageError } from '../../common/errors.js';
import { REGISTRY_MIGRATIONS } from './migrations.js';

/** One model version inside a packaged image, with the digest it had when it was packaged. */
export interface PackagedModel {
  name: string;
  version: number;
  digest: string;
}

/** One image `modelport package` built: what `manifest generate` runs for a module naming these models. */
export interface PackagedImage {
  id: number;
  /** `REPO:TAG` as given to `modelport package --image`. */
  image: string;
  /** The image digest (`sha256:…`) when known (after a push), else null. */
  digest: string | null;
  /** `linux/amd64`, `linux/arm64`, … */
  platform: string;
  /** Sorted by name, then version. */
  models: PackagedModel[];
  createdAt: string;
}

export interface RecordPackagedImage {
  image: string;
  digest?: string | null;
  platform: string;
  models: readonly PackagedModel[];
}

interface Row {
  id: number;
  image: string;
  digest: string | null;
  platform: string;
  models: string;
  created_at: string;
}

const IMAGE_PATTERN = /^\S+$/;
const PLATFORM_PATTERN = /^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/;
const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

const byNameVersion = (a: { name: string; version: number }, b: { name: string; version: number }) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : a.version - b.version;

/** The identity of a set of model versions: equal for the same set in any order. */
function modelSetKey(models: readonly { name: string; version: number }[]): string {
  return canonicalJson([...models].sort(byNameVersion).map((m) => [m.name, m.version]));
}

/**
 * Images built by `modelport package`, one row each, in the registry's SQLite file (table
 * `packaged_images`, registry migration 2). Packaging calls `record`; `manifest generate` calls
 * `findForModels` to run the image of a module that names models but no image.
 */
export class PackagedImages {
  private readonly insertRow: Statement;
  private readonly rowsForModel: Statement;
  private readonly rowsForImage: Statement;

  constructor(
    private readonly db: Db,
    private readonly options: { now?: () => Date; ownsDb?: boolean } = {},
  ) {
    this.insertRow = db.prepare(
      `INSERT INTO packaged_images (image, digest, platform, models, created_at)
       VALUES (?, ?, ?, ?, ?) RETURNING *`,
    );
    this.rowsForModel = db.prepare(
      `SELECT * FROM packaged_images
       WHERE EXISTS (SELECT 1 FROM json_each(packaged_images.models)
                     WHERE json_extract(value, '$.name') = ? AND json_extract(value, '$.version') = ?)
       ORDER BY created_at DESC, id DESC`,
    );
    this.rowsForImage = db.prepare(
      'SELECT * FROM packaged_images WHERE image = ? ORDER BY created_at DESC, id DESC',
    );
  }

  /** Opens the registry database under `home` (creating it and applying migrations) for this table alone. */
  static open(home: string, options: { now?: () => Date } = {}): PackagedImages {
    const root = resolve(home);
    mkdirSync(root, { recursive: true });
    const db = openDb(join(root, 'registry.db'), { synchronous: 'FULL', migrations: REGISTRY_MIGRATIONS });
    return new PackagedImages(db, { ...options, ownsDb: true });
  }

  /** Closes the connection when `open` made it; a connection passed to the constructor stays open. */
  close(): void {
    if (this.options.ownsDb) closeDb(this.db);
  }

  /** Records one built image. Throws UsageError for an empty model list or malformed fields. */
  record(entry: RecordPackagedImage): PackagedImage {
    checkEntry(entry);
    const models = [...entry.models].sort(byNameVersion).map((m) => ({
      name: m.name,
      version: m.version,
      digest: m.digest,
    }));
    const createdAt = (this.options.now?.() ?? new Date()).toISOString();
    const row = this.insertRow.get(
      entry.image,
      entry.digest ?? null,
      entry.platform,
      JSON.stringify(models),
      createdAt,
    ) as Row;
    return toImage(row);
  }

  /**
   * Images packaged for exactly this set of model versions (no more, no fewer), newest first, one per
   * (image, platform). Empty when none was built.
   */
  findForModels(refs: readonly { name: string; version: number }[]): PackagedImage[] {
    const first = refs[0];
    if (!first) return [];
    const wanted = modelSetKey(refs);
    const seen = new Set<string>();
    const out: PackagedImage[] = [];
    for (const row of this.rowsForModel.all(first.name, first.version) as Row[]) {
      const image = toImage(row);
      if (modelSetKey(image.models) !== wanted) continue;
      const key = `${image.image}\u0000${image.platform}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(image);
    }
    return out;
  }

  /** Every record of one image reference, newest first. */
  findByImage(image: string): PackagedImage[] {
    return (this.rowsForImage.all(image) as Row[]).map(toImage);
  }
}

function toImage(row: Row): PackagedImage {
  return {
    id: row.id,
    image: row.image,
    digest: row.digest,
    platform: row.platform,
    models: JSON.parse(row.models) as PackagedModel[],
    createdAt: row.created_at,
  };
}

function checkEntry(entry: RecordPackagedImage): void {
  const bad = (what: string) =>
    new UsageError('PACKAGED_IMAGE_INVALID', `cannot record packaged image: ${what}`);
  if (!IMAGE_PATTERN.test(entry.image)) throw bad(`image '${entry.image}' is empty or holds whitespace`);
  if (!PLATFORM_PATTERN.test(entry.platform)) {
    throw bad(`platform '${entry.platform}' is not of the form os/arch[/variant], e.g. linux/arm64`);
  }
  if (entry.digest != null && !DIGEST_PATTERN.test(entry.digest)) {
    throw bad(`image digest '${entry.digest}' is not sha256:<64 hex digits>`);
  }
  if (entry.models.length === 0) throw bad('an image holds at least one model');
  const seen = new Set<string>();
  for (const m of entry.models) {
    if (!Number.isInteger(m.version) || m.version < 1) {
      throw bad(`model ${m.name} has version ${m.version}; versions are positive integers`);
    }
    if (!DIGEST_PATTERN.test(m.digest)) throw bad(`model ${m.name}:${m.version} has digest '${m.digest}'`);
    const key = `${m.name}:${m.version}`;
    if (seen.has(key)) throw bad(`model ${key} is listed twice`);
    seen.add(key);
  }
}
