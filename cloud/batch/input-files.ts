import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { canonicalJson, sha256Hex } from '../../common/canonical-json.js';
import { isENOENT, NotFoundError, UsageError } from '../../common/errors.js';

export const BATCH_FORMATS = ['jsonl', 'csv', 'npy'] as const;
export type BatchFormat = (typeof BATCH_FORMATS)[number];

export interface InputFile {
  path: string;
  /** The file's name, which folder inputs write into output lines beside the line number. */
  name: string;
  size: number;
  mtimeMs: number;
}

/** What `--input` named: one file, or a folder's files of one format in name order. */
export interface InputSet {
  files: InputFile[];
  format: BatchFormat;
  folder: boolean;
  totalBytes: number;
}

const EXTENSIONS: Record<string, BatchFormat> = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'jsonl',
  '.csv': 'csv',
  '.npy': 'npy',
};

export function formatOf(path: string): BatchFormat | undefined {
  return EXTENSIONS[extname(path).toLowerCase()];
}

export function parseFormat(text: string): BatchFormat {
  if ((BATCH_FORMATS as readonly string[]).includes(text)) return text as BatchFormat;
  throw new UsageError('FORMAT_INVALID', `--format '${text}' is not one of ${BATCH_FORMATS.join(', ')}`);
}

/**
 * Resolves `--input`. A folder contributes its regular files (not hidden, not recursive) in name order
 * whose extension is the format's; other files are skipped with a warning, and `exclude` (the run's own
 * output files, if they live there) is never read. Without `--format` the format comes from the file's
 * extension, or from the one kind of file a folder holds.
 */
export async function resolveInput(
  input: string,
  format: BatchFormat | undefined,
  exclude: readonly string[],
): Promise<{ set: InputSet; warnings: string[] }> {
  const path = resolve(input);
  const info = await stat(path).catch((e: unknown) => {
    if (isENOENT(e)) throw new NotFoundError('INPUT_NOT_FOUND', `--input ${input} does not exist`);
    throw e;
  });
  if (info.isFile()) {
    const detected = format ?? formatOf(path);
    if (!detected) {
      throw new UsageError('FORMAT_UNKNOWN', `cannot tell the format of ${input} from its extension`, {
        hint: `name it .jsonl, .csv or .npy, or pass --format ${BATCH_FORMATS.join('|')}`,
      });
    }
    const file = { path, name: basename(path), size: info.size, mtimeMs: info.mtimeMs };
    return { set: { files: [file], format: detected, folder: false, totalBytes: info.size }, warnings: [] };
  }
  if (!info.isDirectory())
    throw new UsageError('INPUT_INVALID', `--input ${input} is neither a file nor a folder`);
  const skip = new Set(exclude.map((p) => resolve(p)));
  const candidates: InputFile[] = [];
  for (const entry of (await readdir(path, { withFileTypes: true })).sort((a, b) =>
    compareNames(a.name, b.name),
  )) {
    const full = join(path, entry.name);
    if (!entry.isFile() || entry.name.startsWith('.') || skip.has(full)) continue;
    const s = await stat(full);
    candidates.push({ path: full, name: entry.name, size: s.size, mtimeMs: s.mtimeMs });
  }
  const kinds = new Set(candidates.map((f) => formatOf(f.path)).filter((k) => k !== undefined));
  const chosen = format ?? (kinds.size === 1 ? [...kinds][0] : undefined);
  if (!chosen) {
    throw new UsageError(
      'FORMAT_UNKNOWN',
      kinds.size === 0
        ? `folder ${input} holds no .jsonl, .csv or .npy files`
        : `folder ${input} holds files of several formats (${[...kinds].join(', ')})`,
      { hint: `pass --format ${BATCH_FORMATS.join('|')} to choose` },
    );
  }
  const files = candidates.filter((f) => formatOf(f.path) === chosen);
  const skipped = candidates.filter((f) => formatOf(f.path) !== chosen);
  if (files.length === 0) throw new UsageError('INPUT_EMPTY', `folder ${input} holds no ${chosen} files`);
  const warnings =
    skipped.length > 0
      ? [`skipped ${skipped.length} file(s) that are not ${chosen}: ${skipped.map((f) => f.name).join(', ')}`]
      : [];
  return {
    set: { files, format: chosen, folder: true, totalBytes: files.reduce((n, f) => n + f.size, 0) },
    warnings,
  };
}

/** Name order as a person reads a folder listing (byte order, so it never depends on the locale). */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Identifies the work a checkpoint belongs to: the model version (by digest) and every input file's
 * name, size and modification time. A resume against anything else is refused, since the checkpoint's
 * byte offsets would point into different data. (Size + mtime, not a content hash: hashing would read
 * the whole input again on every resume.)
 */
export function inputFingerprint(
  set: InputSet,
  model: { name: string; version: number; digest: string },
): string {
  return sha256Hex(
    canonicalJson({
      model: { name: model.name, version: model.version, digest: model.digest },
      format: set.format,
      files: set.files.map((f) => ({ name: f.name, size: f.size, mtimeMs: f.mtimeMs })),
    }),
  );
}
