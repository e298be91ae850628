/**
 * Model integrity: before serving, the scoring module recomputes each model's digest from the files
 * it holds and compares it with the digest the deployment expects (the registry's, carried in the
 * module's desired properties or in MODELPORT_EXPECTED_MODELS). A mismatch is a ModelIntegrityError
 * naming the model, both digests and the differing files; main.ts then exits with code 78
 * (EX_CONFIG), which the device agent reports as "model integrity check failed: …".
 *
 * The digest is common/model-digest.ts's: sha256 over the sorted (path, sha256, size) list, with each
 * path relative to the model folder (`…/$NAME/$VERSION/`) and '/'-separated, as the registry lays
 * models out.
 */

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ModelportError } from '../../common/errors.js';
import { type DigestedFile, modelDigest } from '../../common/model-digest.js';

/** sysexits.h EX_CONFIG: the process exit code for a model that does not match its expected digest. */
export const EXIT_MODEL_INTEGRITY = 78;

export interface ServedModel {
  name: string;
  version: string;
  /** The model's folder (`…/$NAME/$VERSION`). */
  dir: string;
}

export interface ExpectedModel {
  name: string;
  version: string | number;
  /** `sha256:<hex>` as the registry computes it. */
  digest: string;
  /** Optional per-file hashes (the module twin carries them when they fit): name what differs. */
  files?: { path: string; sha256: string }[];
}

export interface VerifiedModel {
  name: string;
  version: string;
  digest: string;
  files: number;
}

/** A served model does not match (or is missing from) what the deployment expects. */
export class ModelIntegrityError extends ModelportError {
  constructor(message: string, details: Record<string, unknown>) {
    super('MODEL_INTEGRITY_MISMATCH', `model integrity check failed: ${message}`, {
      exitCode: EXIT_MODEL_INTEGRITY,
      hint: 'the image holds other model files than the registry registered: package and deploy the model again',
      details,
    });
  }
}

export function isModelIntegrityError(e: unknown): e is ModelIntegrityError {
  return e instanceof ModelIntegrityError;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Every file under `dir` (links to files followed), with its path relative to `dir`, sha256 and size. */
export async function digestFolder(dir: string): Promise<{ digest: string; files: DigestedFile[] }> {
  const files: DigestedFile[] = [];
  for (const entry of await readdir(dir, { recursive: true })) {
    const full = join(dir, entry);
    const info = await stat(full).catch(() => undefined); // a dangling link is not model content
    if (!info?.isFile()) continue;
    files.push({
      path: relative(dir, full).split(sep).join('/'),
      sha256: await sha256File(full),
      size: info.size,
    });
  }
  return { digest: modelDigest(files), files };
}

function differingFiles(actual: DigestedFile[], expected: ExpectedModel['files']): string[] {
  if (!expected) return [];
  const have = new Map(actual.map((f) => [f.path, f.sha256]));
  const want = new Map(expected.map((f) => [f.path, f.sha256]));
  const out: string[] = [];
  for (const [path, sha] of want) {
    const got = have.get(path);
    if (got === undefined) out.push(`${path} (missing)`);
    else if (got !== sha) out.push(`${path} (sha256 differs)`);
  }
  for (const path of have.keys()) if (!want.has(path)) out.push(`${path} (not expected)`);
  return out;
}

/**
 * Checks every expected model against the served one of the same name and version. Throws
 * ModelIntegrityError on the first mismatch or when an expected model is not served; returns what was
 * verified. Served models the deployment does not list are not checked.
 */
export async function verifyModelIntegrity(
  models: readonly ServedModel[],
  expected: readonly ExpectedModel[],
): Promise<VerifiedModel[]> {
  const verified: VerifiedModel[] = [];
  for (const want of expected) {
    const version = String(want.version);
    const served = models.find((m) => m.name === want.name && m.version === version);
    if (!served) {
      throw new ModelIntegrityError(`model '${want.name}' version ${version} is expected but not served`, {
        model: want.name,
        version,
        served: models.map((m) => `${m.name}:${m.version}`),
      });
    }
    const { digest, files } = await digestFolder(served.dir);
    if (digest !== want.digest) {
      const differing = differingFiles(files, want.files);
      const which = differing.length > 0 ? `; files: ${differing.slice(0, 5).join(', ')}` : '';
      throw new ModelIntegrityError(
        `model '${want.name}' version ${version}: expected ${want.digest}, found ${digest} (files under ${served.dir})${which}`,
        { model: want.name, version, expected: want.digest, actual: digest, dir: served.dir, differing },
      );
    }
    verified.push({ name: want.name, version, digest, files: files.length });
  }
  return verified;
}

function readExpectedList(value: unknown, source: string): ExpectedModel[] {
  const list = value;
  if (!Array.isArray(list)) throw new Error(`${source} is not a JSON array of {name, version, digest}`);
  return list.map((m, i) => {
    const e = m as Partial<ExpectedModel>;
    if (typeof e?.name !== 'string' || (typeof e.version !== 'string' && typeof e.version !== 'number')) {
      throw new Error(`${source}[${i}] needs name and version`);
    }
    if (typeof e.digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(e.digest)) {
      throw new Error(`${source}[${i}].digest must be sha256:<64 hex digits>`);
    }
    return {
      name: e.name,
      version: e.version,
      digest: e.digest,
      ...(Array.isArray(e.files) && { files: e.files }),
    };
  });
}

/** The expected digests from MODELPORT_EXPECTED_MODELS (`[{name, version, digest}]`); undefined when unset. */
export function expectedModelsFromEnv(env: NodeJS.ProcessEnv): ExpectedModel[] | undefined {
  const text = env.MODELPORT_EXPECTED_MODELS;
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return readExpectedList(JSON.parse(text), 'MODELPORT_EXPECTED_MODELS');
  } catch (cause) {
    throw new ModelportError(
      'EXPECTED_MODELS_INVALID',
      `MODELPORT_EXPECTED_MODELS: ${(cause as Error).message}`,
      {
        exitCode: EXIT_MODEL_INTEGRITY,
        cause,
      },
    );
  }
}

/** The expected digests from the module twin's desired properties (`{models: [{name, version, digest, files?}]}`). */
export function expectedModelsFromTwin(desired: Record<string, unknown>): ExpectedModel[] | undefined {
  if (desired['models'] === undefined) return undefined;
  try {
    return readExpectedList(desired['models'], 'desired.models');
  } catch (cause) {
    throw new ModelportError('EXPECTED_MODELS_INVALID', `module twin: ${(cause as Error).message}`, {
      exitCode: EXIT_MODEL_INTEGRITY,
      cause,
    });
  }
}
