import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  findModelportInstall,
  requireCompiledScoring,
  staleSources,
} from '../../../cloud/package/modelport-root.js';
import { tempDir } from '../../support/tmp.js';

let work: ReturnType<typeof tempDir> | undefined;
afterEach(() => work?.cleanup());

function write(root: string, path: string, content = ''): string {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), content);
  return join(root, path);
}

describe('findModelportInstall', () => {
  it('finds the nearest package.json named modelport above a module, from dist/ or from sources', () => {
    work = tempDir('root');
    const root = join(work.path, 'node_modules', 'modelport');
    write(work.path, 'package.json', JSON.stringify({ name: 'someones-project' }));
    write(
      root,
      'package.json',
      JSON.stringify({ name: 'modelport', version: '1.2.3', repository: { url: 'git+https://x/y.git' } }),
    );
    write(root, 'dist/cloud/package/node_modules/package.json', JSON.stringify({ name: 'not-it' }));
    const fromDist = pathToFileURL(write(root, 'dist/cloud/package/modelport-root.js')).href;
    const fromSources = pathToFileURL(write(root, 'cloud/package/modelport-root.ts')).href;
    for (const url of [fromDist, fromSources]) {
      expect(findModelportInstall(url)).toEqual({
        root,
        dist: join(root, 'dist'),
        version: '1.2.3',
        repository: 'git+https://x/y.git',
      });
    }
  });

  it('finds this checkout by default', () => {
    expect(findModelportInstall().root).toBe(join(import.meta.dirname, '..', '..', '..'));
  });

  it('says so when there is no modelport above', () => {
    const dir = tempDir('root');
    work = dir;
    expect(() => findModelportInstall(pathToFileURL(write(dir.path, 'a/b.js')).href)).toThrow(
      expect.objectContaining({ code: 'MODELPORT_ROOT_NOT_FOUND' }),
    );
  });
});

describe('requireCompiledScoring and staleSources', () => {
  it('asks for `npm run build` when dist is missing, and lists sources newer than their build', async () => {
    work = tempDir('root');
    const install = {
      root: work.path,
      dist: join(work.path, 'dist'),
      version: '0.0.0',
      repository: undefined,
    };
    expect(() => requireCompiledScoring(install)).toThrow(
      expect.objectContaining({ code: 'SCORING_NOT_BUILT', hint: `run \`npm run build\` in ${work.path}` }),
    );
    write(work.path, 'dist/modules/scoring/main.js');
    write(work.path, 'dist/common/errors.js');
    expect(() => requireCompiledScoring(install)).not.toThrow();
    const old = new Date('2020-01-01T00:00:00Z');
    utimesSync(join(work.path, 'dist/common/errors.js'), old, old);
    write(work.path, 'modules/scoring/main.ts');
    write(work.path, 'modules/scoring/new-file.ts');
    write(work.path, 'common/errors.ts');
    write(work.path, 'common/types.d.ts');
    utimesSync(join(work.path, 'modules/scoring/main.ts'), old, old);
    expect(await staleSources(install)).toEqual(['common/errors.ts', 'modules/scoring/new-file.ts']);
  });
});
