/** writeFileAtomic on real files: modes, leftovers of killed runs, and which failures are whose. */
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFailure, writeFileAtomic } from '../../../cloud/watch/atomic-file.js';
import { isModelportError } from '../../../common/errors.js';
import { tempDir } from '../../support/tmp.js';

const tmp = tempDir('atomic-file');
let folders = 0;
const folder = () => {
  const path = join(tmp.path, `f${++folders}`);
  mkdirSync(path);
  return path;
};
const modeOf = (path: string) => statSync(path).mode & 0o777;

afterAll(() => tmp.cleanup());

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the write to fail');
}

describe('writeFileAtomic', () => {
  it('creates a new file 0600 (a manifest can hold registry passwords) and keeps the mode of one it replaces', async () => {
    const dir = folder();
    const fresh = join(dir, 'new.json');
    expect((await writeFileAtomic(fresh, 'a')).mode).toBe(0o600);
    expect(modeOf(fresh)).toBe(0o600);

    const shared = join(dir, 'deployment.json');
    writeFileSync(shared, 'old');
    chmodSync(shared, 0o640);
    expect(await writeFileAtomic(shared, 'new')).toEqual({ mode: 0o640, warnings: [] });
    expect(readFileSync(shared, 'utf8')).toBe('new');
    expect(modeOf(shared)).toBe(0o640);
  });

  it('removes a temporary file a killed run left behind, and only those of this file', async () => {
    const dir = folder();
    const path = join(dir, 'deployment.json');
    writeFileSync(join(dir, '.deployment.json.0123456789ab.tmp'), '{"half": ');
    writeFileSync(join(dir, '.other.json.0123456789ab.tmp'), 'not ours');
    writeFileSync(join(dir, '.deployment.json.notes'), 'not a temporary');
    const { warnings } = await writeFileAtomic(path, '{}');
    expect(warnings).toEqual(['removed .deployment.json.0123456789ab.tmp left by an interrupted write']);
    expect(readdirSync(dir).sort()).toEqual([
      '.deployment.json.notes',
      '.other.json.0123456789ab.tmp',
      'deployment.json',
    ]);
  });

  it('reports a failed fsync of the folder after the rename as a warning: the file was replaced', async () => {
    const path = join(folder(), 'deployment.json');
    writeFileSync(path, 'old');
    const result = await writeFileAtomic(path, 'new', {
      syncFolder: async () => {
        throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
      },
    });
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(result.warnings).toEqual([
      `${path} was replaced, but syncing its folder failed (EIO: i/o error, fsync): a power cut now could bring back the previous file`,
    ]);
  });

  it('fails with a usage error (exit 2) when the folder does not exist', async () => {
    const error = await errorOf(writeFileAtomic(join(tmp.path, 'missing', 'deployment.json'), '{}'));
    expect(isModelportError(error) && [error.code, error.exitCode]).toEqual(['OUTPUT_DIR_MISSING', 2]);
  });

  it('fails with a runtime error (exit 1) the filesystem caused, leaving no temporary behind', async () => {
    const dir = folder();
    const path = join(dir, 'deployment.json');
    mkdirSync(path); // rename(2) of a file over a folder: EISDIR
    const error = await errorOf(writeFileAtomic(path, '{}'));
    expect(isModelportError(error) && [error.code, error.exitCode]).toEqual(['OUTPUT_WRITE_FAILED', 1]);
    expect(readdirSync(dir)).toEqual(['deployment.json']);
  });
});

describe('writeFailure', () => {
  it.each([
    ['ENOENT', 'OUTPUT_DIR_MISSING', 2],
    ['ENOTDIR', 'OUTPUT_DIR_MISSING', 2],
    ['EACCES', 'OUTPUT_UNWRITABLE', 2],
    ['EPERM', 'OUTPUT_UNWRITABLE', 2],
    ['ENOSPC', 'OUTPUT_WRITE_FAILED', 1],
    ['EIO', 'OUTPUT_WRITE_FAILED', 1],
    ['EROFS', 'OUTPUT_WRITE_FAILED', 1],
  ])('maps %s to %s (exit %i)', (errno, code, exitCode) => {
    const e = writeFailure('/srv/edge/deployment.json', Object.assign(new Error(errno), { code: errno }));
    expect([e.code, e.exitCode]).toEqual([code, exitCode]);
  });
});
