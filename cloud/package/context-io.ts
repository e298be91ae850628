import { createReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { isENOENT, UsageError } from '../../common/errors.js';
import type { ContextEntry } from './build-context.js';

/** Every tar entry gets this time, so the same inputs give the same context bytes. */
const FIXED_MTIME = new Date('2020-01-01T00:00:00Z');

/**
 * The context as a tar stream for the engine's /build, produced while the engine reads it: files are
 * streamed from disk one after another, nothing is staged in a temporary tarball.
 */
export function packContext(entries: readonly ContextEntry[]): Readable {
  const pack = tar.pack();
  const fill = async () => {
    for (const entry of entries) {
      const header = {
        name: entry.path,
        size: entry.size,
        mode: entry.mode,
        mtime: FIXED_MTIME,
        uid: 0,
        gid: 0,
        type: 'file' as const,
      };
      if ('data' in entry) {
        await new Promise<void>((resolve, reject) =>
          pack.entry(header, entry.data, (err) => (err ? reject(err) : resolve())),
        );
      } else {
        await pipeline(createReadStream(entry.source), pack.entry(header));
      }
    }
    pack.finalize();
  };
  fill().catch((e: unknown) => pack.destroy(e as Error));
  // tar-stream's streams are streamx streams; wrap as a Node stream for the HTTP request body.
  return Readable.from(pack, { objectMode: false });
}

/**
 * Writes the context into `dir` (the guide's `generate_dockerfile=True`): `docker build dir` gives the
 * same image. `dir` must not exist or be empty, so nothing of the user's is overwritten.
 */
export async function writeContextDir(entries: readonly ContextEntry[], dir: string): Promise<void> {
  const existing = await readdir(dir).catch((e: unknown) => {
    if (isENOENT(e)) return [];
    throw e;
  });
  if (existing.length > 0) {
    throw new UsageError('OUTPUT_DIR_NOT_EMPTY', `--output-dir ${dir} is not empty`, {
      hint: 'give a new or empty folder; nothing in it is overwritten',
    });
  }
  for (const entry of entries) {
    const target = join(dir, ...entry.path.split('/'));
    await mkdir(dirname(target), { recursive: true });
    if ('data' in entry) await writeFile(target, entry.data);
    else await copyFile(entry.source, target);
    await chmod(target, entry.mode);
  }
}
