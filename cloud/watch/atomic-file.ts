/**
 * Writes a file so that readers see the old content or the new, never a part, even after a power cut:
 * temporary file beside it, fsync, rename over the old one, fsync of the folder.
 *
 * - The replaced file keeps its mode (an operator's `chmod 0640` so the agent's group can read it
 *   survives every rollout); a new file gets `modeForNew` (0600: a manifest can hold registry
 *   passwords).
 * - A temporary file left by a run that was killed mid-write (`.<name>.<hex>.tmp`) is removed by the
 *   next write. Only one writer per target runs at a time (cloud/watch/target-lock.ts), so every such
 *   file is stale.
 * - Errors the operator fixes (a missing folder, permissions) are usage errors; the rest (EIO, ENOSPC,
 *   EROFS…) are runtime failures. Both are retried by a continuous watch.
 * - Once the rename is done, the file IS replaced: a failed fsync of the folder only means the rename
 *   may not survive a power cut yet, so it is returned as a warning rather than thrown.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isENOENT, isErrnoException, ModelportError, messageOf, UsageError } from '../../common/errors.js';

export interface AtomicWriteOptions {
  /** Mode of a file that does not exist yet (default 0600). */
  modeForNew?: number;
  /** fsync of the folder after the rename (a seam for tests; default: open it and fsync). */
  syncFolder?: (folder: string) => Promise<void>;
}

export interface AtomicWriteResult {
  /** The mode the file has now. */
  mode: number;
  warnings: string[];
}

const USAGE_CODES = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM']);

async function syncFolderOf(folder: string): Promise<void> {
  const dir = await open(folder, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

const isTemporaryOf = (name: string) => {
  const prefix = `.${name}.`;
  return (entry: string) =>
    entry.startsWith(prefix) && /^[0-9a-f]{12}\.tmp$/.test(entry.slice(prefix.length));
};

/** Removes temporary files of `path` left by a killed run; returns what it removed. */
async function removeStaleTemporaries(path: string): Promise<string[]> {
  const folder = dirname(path);
  const entries = await readdir(folder);
  const stale = entries.filter(isTemporaryOf(basename(path)));
  for (const entry of stale) await rm(join(folder, entry), { force: true });
  return stale;
}

/** The error a failed write becomes: usage (exit 2) for what the operator fixes, else runtime (exit 1). */
export function writeFailure(path: string, e: unknown): ModelportError {
  const code = isErrnoException(e) ? e.code : undefined;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new UsageError('OUTPUT_DIR_MISSING', `cannot write ${path}: its folder does not exist`, {
      hint: 'create the folder; the watch tries again',
      cause: e,
    });
  }
  if (code !== undefined && USAGE_CODES.has(code)) {
    return new UsageError('OUTPUT_UNWRITABLE', `cannot write ${path}: ${messageOf(e)}`, {
      hint: 'fix the permissions of the file or its folder; the watch tries again',
      cause: e,
    });
  }
  return new ModelportError('OUTPUT_WRITE_FAILED', `cannot write ${path}: ${messageOf(e)}`, {
    hint: 'the disk refused the write (full, read-only, failing?); the watch tries again',
    cause: e,
  });
}

export async function writeFileAtomic(
  path: string,
  text: string,
  options: AtomicWriteOptions = {},
): Promise<AtomicWriteResult> {
  const folder = dirname(path);
  const temporary = join(folder, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const warnings: string[] = [];
  let mode: number;
  try {
    const removed = await removeStaleTemporaries(path);
    if (removed.length > 0) warnings.push(`removed ${removed.join(', ')} left by an interrupted write`);
    const existing = await stat(path).catch((e: unknown) => {
      if (isENOENT(e)) return undefined;
      throw e;
    });
    mode = existing ? existing.mode & 0o7777 : (options.modeForNew ?? 0o600);
    const file = await open(temporary, 'wx', mode);
    try {
      // open's mode is filtered by the umask: set it exactly.
      await file.chmod(mode);
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (e) {
    // Best effort: the write failed already, and a temporary left here is removed by the next write.
    await rm(temporary, { force: true }).catch(() => undefined);
    throw writeFailure(path, e);
  }
  try {
    await (options.syncFolder ?? syncFolderOf)(folder);
  } catch (e) {
    warnings.push(
      `${path} was replaced, but syncing its folder failed (${messageOf(e)}): a power cut now could bring back the previous file`,
    );
  }
  return { mode, warnings };
}
