import { accessSync, constants, mkdirSync } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { closeDb, type Db, openDb } from '../../common/db.js';
import { isENOENT, ModelportError, NotFoundError, UsageError } from '../../common/errors.js';
import { modelDigest } from '../../common/model-digest.js';
import { BlobStore } from './blob-store.js';
import { REGISTRY_MIGRATIONS } from './migrations.js';
import { assertModelName, formatModelRef } from './model-ref.js';
import { detectOnnx } from './onnx-detect.js';
import type { ModelFile, ModelFilter, ModelRecord, ModelRef, OnnxSummary, RegisterRequest } from './types.js';

interface ModelRow {
  name: string;
  version: number;
  framework: string;
  description: string;
  digest: string;
  created_at: string;
  tags: string;
  properties: string;
  size: number;
  onnx: string | null;
}

interface SourceFile {
  absolute: string;
  path: string;
}

/**
 * The model registry: metadata in SQLite (`registry.db`), files in a content-addressed blob store,
 * both under one home folder. Every method leaves the registry unchanged when it throws.
 */
export class ModelRegistry {
  private readonly blobs: BlobStore;

  private constructor(
    readonly home: string,
    private readonly db: Db,
    private readonly now: () => Date,
  ) {
    this.blobs = new BlobStore(join(home, 'blobs'));
  }

  static open(home: string, options: { now?: () => Date } = {}): ModelRegistry {
    const root = resolve(home);
    try {
      mkdirSync(join(root, 'blobs'), { recursive: true });
      accessSync(root, constants.W_OK);
    } catch (cause) {
      throw new ModelportError(
        'HOME_NOT_WRITABLE',
        `cannot write to the modelport home ${root}: ${(cause as Error).message}`,
        {
          hint: 'set MODELPORT_HOME to a folder you can write to',
          exitCode: 2,
          cause,
        },
      );
    }
    const db = openDb(join(root, 'registry.db'), { synchronous: 'FULL', migrations: REGISTRY_MIGRATIONS });
    return new ModelRegistry(root, db, options.now ?? (() => new Date()));
  }

  close(): void {
    closeDb(this.db);
  }

  async register(request: RegisterRequest): Promise<ModelRecord> {
    assertModelName(request.name);
    const sources = await listSourceFiles(request.path);
    const onnx = await detectOnnx(sources, request.framework);
    const framework = request.framework ?? (onnx ? 'onnx' : 'custom');
    const files: ModelFile[] = [];
    for (const source of sources) {
      const stored = await this.blobs.put(source.absolute);
      files.push({ path: source.path, sha256: stored.sha256, size: stored.size });
    }
    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const record = {
      name: request.name,
      framework,
      description: request.description ?? '',
      digest: modelDigest(files),
      createdAt: this.now().toISOString(),
      tags: request.tags ?? {},
      properties: request.properties ?? {},
      files,
      size: files.reduce((sum, f) => sum + f.size, 0),
      onnx,
    };
    const version = this.insertVersion(record);
    const { name, ...rest } = record;
    return { name, version, ...rest };
  }

  /** Allocates the next version and stores the rows in one write transaction. */
  private insertVersion(record: Omit<ModelRecord, 'version'>): number {
    const insert = this.db.transaction(() => {
      // A concurrent delete may have collected a blob we share; the write lock we hold now makes
      // this check final.
      const missing = record.files.find((f) => !this.blobs.has(f.sha256));
      if (missing) {
        throw new ModelportError('BLOB_MISSING', `blob for ${missing.path} vanished during register`, {
          hint: 'run the command again',
        });
      }
      const { last_version: version } = this.db
        .prepare(
          `INSERT INTO model_names (name, last_version) VALUES (?, 1)
           ON CONFLICT(name) DO UPDATE SET last_version = last_version + 1
           RETURNING last_version`,
        )
        .get(record.name) as { last_version: number };
      this.db
        .prepare(
          `INSERT INTO models (name, version, framework, description, digest, created_at, tags, properties, size, onnx)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          record.name,
          version,
          record.framework,
          record.description,
          record.digest,
          record.createdAt,
          JSON.stringify(record.tags),
          JSON.stringify(record.properties),
          record.size,
          record.onnx ? JSON.stringify(record.onnx) : null,
        );
      const insertFile = this.db.prepare(
        'INSERT INTO model_files (name, version, path, sha256, size) VALUES (?, ?, ?, ?, ?)',
      );
      for (const f of record.files) insertFile.run(record.name, version, f.path, f.sha256, f.size);
      return version;
    });
    return insert.immediate();
  }

  list(filter: ModelFilter = {}): ModelRecord[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.name !== undefined) {
      where.push('name = ?');
      params.push(filter.name);
    }
    for (const [key, value] of Object.entries(filter.tags ?? {})) {
      where.push(
        value === '*'
          ? 'EXISTS (SELECT 1 FROM json_each(models.tags) WHERE key = ?)'
          : 'EXISTS (SELECT 1 FROM json_each(models.tags) WHERE key = ? AND value = ?)',
      );
      params.push(key);
      if (value !== '*') params.push(value);
    }
    const sql = `SELECT * FROM models ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY name, version`;
    return (this.db.prepare(sql).all(...params) as ModelRow[]).map((row) => this.toRecord(row));
  }

  get(ref: ModelRef): ModelRecord {
    const row = (
      ref.version === 'latest'
        ? this.db.prepare('SELECT * FROM models WHERE name = ? ORDER BY version DESC LIMIT 1').get(ref.name)
        : this.db.prepare('SELECT * FROM models WHERE name = ? AND version = ?').get(ref.name, ref.version)
    ) as ModelRow | undefined;
    if (!row) {
      const known = this.db
        .prepare('SELECT version FROM models WHERE name = ? ORDER BY version')
        .all(ref.name) as {
        version: number;
      }[];
      throw new NotFoundError(
        'MODEL_NOT_FOUND',
        known.length === 0
          ? `no model named '${ref.name}' is registered`
          : `model ${formatModelRef(ref)} is not registered (versions: ${known.map((k) => k.version).join(', ')})`,
        { hint: 'see `modelport model list`' },
      );
    }
    return this.toRecord(row);
  }

  /** The stored file behind one file of a model (read-only: never write to it). */
  blobPath(file: ModelFile): string {
    return this.blobs.pathOf(file.sha256);
  }

  /** Writes the model's files under `targetDir`, each checked against its sha256. */
  async download(ref: ModelRef, targetDir: string): Promise<{ model: ModelRecord; paths: string[] }> {
    const model = this.get(ref);
    const root = resolve(targetDir);
    const paths: string[] = [];
    for (const file of model.files) {
      const destination = join(root, ...file.path.split('/'));
      await this.blobs.copyOut(file.sha256, destination);
      paths.push(destination);
    }
    return { model, paths };
  }

  /** Removes a version; blobs no other version uses are deleted in the same write transaction. */
  delete(ref: ModelRef): ModelRecord {
    const model = this.get(ref);
    const remove = this.db.transaction(() => {
      this.db.prepare('DELETE FROM models WHERE name = ? AND version = ?').run(model.name, model.version);
      const stillUsed = this.db.prepare('SELECT 1 FROM model_files WHERE sha256 = ? LIMIT 1');
      for (const file of model.files) {
        if (!stillUsed.get(file.sha256)) this.blobs.removeSync(file.sha256);
      }
    });
    remove.immediate();
    return model;
  }

  private toRecord(row: ModelRow): ModelRecord {
    const files = this.db
      .prepare('SELECT path, sha256, size FROM model_files WHERE name = ? AND version = ? ORDER BY path')
      .all(row.name, row.version) as ModelFile[];
    return {
      name: row.name,
      version: row.version,
      framework: row.framework,
      description: row.description,
      digest: row.digest,
      createdAt: row.created_at,
      tags: JSON.parse(row.tags) as Record<string, string>,
      properties: JSON.parse(row.properties) as Record<string, string>,
      files,
      size: row.size,
      onnx: row.onnx ? (JSON.parse(row.onnx) as OnnxSummary) : null,
    };
  }
}

/** A file is itself; a folder is every regular file under it, named `<folder>/<relative path>`. */
async function listSourceFiles(path: string): Promise<SourceFile[]> {
  const absolute = resolve(path);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(absolute);
  } catch (e) {
    if (isENOENT(e)) throw new UsageError('PATH_NOT_FOUND', `model path ${path} does not exist`);
    throw new UsageError('PATH_UNREADABLE', `cannot read model path ${path}: ${(e as Error).message}`);
  }
  if (info.isFile()) return [{ absolute, path: basename(absolute) }];
  if (!info.isDirectory())
    throw new UsageError('PATH_NOT_FILE', `model path ${path} is neither a file nor a folder`);
  const folderName = basename(absolute);
  const files: SourceFile[] = [];
  for (const entry of await readdir(absolute, { recursive: true })) {
    const full = join(absolute, entry);
    const entryInfo = await lstat(full);
    if (entryInfo.isSymbolicLink()) {
      const target = await stat(full).catch(() => undefined);
      if (!target?.isFile()) continue; // dangling links and links to folders are not model content
    } else if (!entryInfo.isFile()) continue;
    files.push({ absolute: full, path: `${folderName}/${relative(absolute, full).split(sep).join('/')}` });
  }
  if (files.length === 0) {
    throw new UsageError('FOLDER_EMPTY', `model folder ${path} holds no files`, {
      hint: 'register a folder that contains the model files, or the model file itself',
    });
  }
  return files;
}
