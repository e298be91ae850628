/** Reading deployment specs and manifests from files, and writing manifests, with errors that name the file. */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { isErrnoException, UsageError } from '../../common/errors.js';
import {
  type DeploymentManifest,
  type DeploymentSpec,
  isManifestError,
  ManifestError,
  parseDeploymentSpec,
} from '../../manifests/index.js';
import { jsonSyntaxProblem } from './json-position.js';

async function readText(path: string, what: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).replace(/^\uFEFF/, '');
  } catch (e) {
    const code = isErrnoException(e) ? e.code : undefined;
    if (code === 'ENOENT') throw new UsageError('FILE_NOT_FOUND', `${what} ${path} does not exist`);
    if (code === 'EISDIR') throw new UsageError('FILE_NOT_FOUND', `${what} ${path} is a folder, not a file`);
    throw new UsageError('FILE_UNREADABLE', `cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

/** Reads and checks a deployment spec (YAML or JSON). Errors name the file and each bad field. */
export async function readSpecFile(path: string): Promise<DeploymentSpec> {
  const text = await readText(path, 'deployment spec');
  try {
    return parseDeploymentSpec(text);
  } catch (e) {
    if (!isManifestError(e)) throw e;
    throw new ManifestError(e.issues, {
      subject: `deployment spec ${path}`,
      code: e.code,
      ...(e.hint && { hint: e.hint }),
    });
  }
}

/** Reads a JSON document (a manifest); a syntax error is reported with its line and column. */
export async function readManifestFile(path: string): Promise<unknown> {
  const text = await readText(path, 'manifest');
  try {
    return JSON.parse(text);
  } catch (e) {
    const ext = extname(path).toLowerCase();
    const looksLikeSpec = ext === '.yaml' || ext === '.yml';
    throw new ManifestError(
      [{ path: '$', rule: 'json-syntax', message: `not valid JSON${where(text, e as Error)}` }],
      {
        subject: `manifest ${path}`,
        hint: looksLikeSpec
          ? 'this looks like a deployment spec: turn it into a manifest with `modelport manifest generate --spec FILE -o manifest.json`'
          : 'a deployment manifest is a JSON document {"modulesContent": {…}}',
      },
    );
  }
}

/** ` at line L, column C: what is wrong` (JSON.parse's own message when the scan finds nothing). */
function where(text: string, error: Error): string {
  const problem = jsonSyntaxProblem(text);
  return problem
    ? ` at line ${problem.line}, column ${problem.column}: ${problem.message}`
    : `: ${error.message}`;
}

/**
 * Writes a manifest as indented JSON, atomically (a temporary file renamed over the target), readable
 * only by its owner because it may hold registry passwords.
 */
export async function writeManifestFile(path: string, manifest: DeploymentManifest): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, path);
  } catch (e) {
    await rm(temporary, { force: true });
    const code = isErrnoException(e) ? e.code : undefined;
    if (code === 'ENOENT')
      throw new UsageError('OUTPUT_DIR_MISSING', `cannot write ${path}: its folder does not exist`);
    throw new UsageError('OUTPUT_UNWRITABLE', `cannot write ${path}: ${(e as Error).message}`);
  }
}
