import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isENOENT, ModelportError, UsageError } from '../../common/errors.js';
import type { Position } from './record-source.js';

/**
 * How far a run got, as of the last consistent cut: every record before `position` is in the output
 * (the first `outputBytes` bytes) or the rejects file (`rejectsBytes`), and nothing after it is.
 * Bytes past those lengths were written after the cut and are dropped on resume, then scored again:
 * that is what makes a run killed at any point finish with every record exactly once.
 */
export interface Checkpoint {
  version: 1;
  /** inputFingerprint(): the model version and input files this checkpoint is about. */
  fingerprint: string;
  position: Position;
  outputBytes: number;
  rejectsBytes: number;
  /** Records scored and rejected up to `position`. */
  scored: number;
  rejected: number;
  complete: boolean;
}

export function checkpointPath(output: string): string {
  return `${output}.checkpoint.json`;
}

export async function readCheckpoint(path: string): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (isENOENT(e)) return undefined;
    throw e;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined; // reported below with the other malformed cases
  }
  if (!isCheckpoint(value)) {
    throw new UsageError('CHECKPOINT_INVALID', `${path} is not a modelport batch checkpoint`, {
      hint: 'start over with --overwrite',
    });
  }
  return value;
}

function isCheckpoint(v: unknown): v is Checkpoint {
  if (v === null || typeof v !== 'object') return false;
  const c = v as Record<string, unknown>;
  const p = c.position as Record<string, unknown> | undefined;
  const counts = [c.outputBytes, c.rejectsBytes, c.scored, c.rejected, p?.file, p?.offset, p?.line];
  return (
    c.version === 1 &&
    typeof c.fingerprint === 'string' &&
    typeof c.complete === 'boolean' &&
    counts.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0)
  );
}

/**
 * Replaces the checkpoint atomically: written to a temporary file, flushed, renamed over the old one,
 * and the folder flushed, so a crash leaves either the old checkpoint or the new one, never a torn one.
 */
export async function writeCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(`${JSON.stringify(checkpoint)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  await syncFolder(dirname(path));
}

export async function removeCheckpoint(path: string): Promise<void> {
  await unlink(path).catch((e: unknown) => {
    if (!isENOENT(e)) throw e;
  });
}

async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } catch (e) {
    // Some file systems refuse fsync on a directory (EINVAL); the rename itself is still atomic.
    if (!(e instanceof Error && 'code' in e && (e.code === 'EINVAL' || e.code === 'EISDIR'))) throw e;
  } finally {
    await handle.close();
  }
}

export type StartPlan =
  | { kind: 'fresh' }
  | { kind: 'resume'; checkpoint: Checkpoint }
  | { kind: 'complete'; checkpoint: Checkpoint };

export interface StartFacts {
  resume: boolean;
  overwrite: boolean;
  fingerprint: string;
  checkpoint: Checkpoint | undefined;
  /** Sizes of the existing output and rejects files (undefined: absent). */
  outputSize: number | undefined;
  rejectsSize: number | undefined;
  outputPath: string;
  rejectsPath: string;
}

/** Decides how a run starts from what is on disk. Pure: no I/O, so every case is unit-tested. */
export function planStart(f: StartFacts): StartPlan {
  if (f.resume && f.overwrite) {
    throw new UsageError(
      'OPTIONS_CONFLICT',
      '--resume continues a run and --overwrite starts over: pass one',
    );
  }
  if (!f.resume) {
    for (const [path, size] of [
      [f.outputPath, f.outputSize],
      [f.rejectsPath, f.rejectsSize],
    ] as const) {
      if (size !== undefined && !f.overwrite) {
        throw new UsageError('OUTPUT_EXISTS', `${path} already exists`, {
          hint: f.checkpoint
            ? 'pass --resume to continue the interrupted run, or --overwrite to start over'
            : 'pass --overwrite to replace it, or choose another --output',
        });
      }
    }
    return { kind: 'fresh' };
  }
  const cp = f.checkpoint;
  if (!cp) {
    if (f.outputSize === undefined) return { kind: 'fresh' };
    throw new UsageError(
      'CHECKPOINT_MISSING',
      `${f.outputPath} exists but has no checkpoint beside it, so there is no telling which records it holds`,
      { hint: 'pass --overwrite to score everything again' },
    );
  }
  if (cp.fingerprint !== f.fingerprint) {
    throw new UsageError(
      'CHECKPOINT_MISMATCH',
      `the checkpoint of ${f.outputPath} belongs to another input or model version (the input files or the model changed since it was written)`,
      { hint: 'resume with the same --model and --input, or start over with --overwrite' },
    );
  }
  if (cp.complete) return { kind: 'complete', checkpoint: cp };
  for (const [path, size, needed] of [
    [f.outputPath, f.outputSize, cp.outputBytes],
    [f.rejectsPath, f.rejectsSize, cp.rejectsBytes],
  ] as const) {
    if ((size ?? 0) < needed) {
      throw new ModelportError(
        'CHECKPOINT_AHEAD',
        `${path} holds ${size ?? 0} bytes but its checkpoint counts ${needed}: it was truncated or replaced since`,
        { exitCode: 2, hint: 'start over with --overwrite' },
      );
    }
  }
  return { kind: 'resume', checkpoint: cp };
}
