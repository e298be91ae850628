import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, unlinkSync } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isENOENT, ModelportError } from '../../common/errors.js';

export interface StoredBlob {
  sha256: string;
  size: number;
}

/**
 * Content-addressed files: `<root>/sha256/<2 hex>/<64 hex>`. A blob is written to a temporary file,
 * flushed to disk, renamed into place, and hashed again from disk before anyone may reference it.
 */
export class BlobStore {
  constructor(private readonly root: string) {}

  pathOf(sha256: string): string {
    return join(this.root, 'sha256', sha256.slice(0, 2), sha256);
  }

  has(sha256: string): boolean {
    return existsSync(this.pathOf(sha256));
  }

  async put(sourcePath: string): Promise<StoredBlob> {
    const tmpDir = join(this.root, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, randomUUID());
    try {
      const written = await copyHashing(sourcePath, tmp);
      await fsyncFile(tmp);
      const final = this.pathOf(written.sha256);
      if (!existsSync(final)) {
        await mkdir(dirname(final), { recursive: true });
        await rename(tmp, final);
      }
      const onDisk = await hashFile(final);
      if (onDisk.sha256 !== written.sha256) {
        throw new ModelportError(
          'BLOB_CORRUPT',
          `stored copy of ${sourcePath} does not match what was read`,
          {
            hint: 'the disk under MODELPORT_HOME may be failing; the model was not registered',
          },
        );
      }
      return written;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Copies a blob out and checks the copy's hash, so a download is byte-identical or fails. */
  async copyOut(sha256: string, destination: string): Promise<void> {
    await mkdir(dirname(destination), { recursive: true });
    const written = await copyHashing(this.pathOf(sha256), destination);
    if (written.sha256 !== sha256) {
      throw new ModelportError(
        'BLOB_CORRUPT',
        `blob ${sha256} in the registry is corrupt (read ${written.sha256})`,
        {
          hint: 'delete this model version and register it again',
        },
      );
    }
  }

  /** Removes a blob; a blob already gone is fine (another delete got there first). */
  removeSync(sha256: string): void {
    try {
      unlinkSync(this.pathOf(sha256));
    } catch (e) {
      if (!isENOENT(e)) throw e;
    }
  }
}

export async function hashFile(path: string): Promise<StoredBlob> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

async function copyHashing(source: string, destination: string): Promise<StoredBlob> {
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(createReadStream(source), tap, createWriteStream(destination));
  return { sha256: hash.digest('hex'), size };
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}
