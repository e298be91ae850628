import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  dependencyClosure,
  platformMismatch,
  type RootImport,
} from '../../../cloud/package/dependency-closure.js';
import { parsePlatform } from '../../../cloud/package/platform.js';
import { tempDir } from '../../support/tmp.js';

const amd64 = parsePlatform('linux/amd64');
const arm64 = parsePlatform('linux/arm64');
let work: ReturnType<typeof tempDir> | undefined;
afterEach(() => work?.cleanup());

interface Pkg {
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  os?: string[];
  cpu?: string[];
}

/** Writes `<dir>/package.json` (name from the folder) and an index.js. */
function pkg(dir: string, name: string, spec: Pkg): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, ...spec }));
  writeFileSync(join(dir, 'index.js'), `module.exports = ${JSON.stringify(name)};\n`);
}

function app(root: string, names: string[]): RootImport[] {
  const fromDir = join(root, 'dist', 'modules', 'scoring');
  mkdirSync(fromDir, { recursive: true });
  return names.map((name) => ({ name, importer: 'modules/scoring/server.js', fromDir }));
}

const layout = (closure: Awaited<ReturnType<typeof dependencyClosure>>) =>
  closure.packages.map((p) => `${p.target}@${p.version}`);

describe('dependencyClosure', () => {
  it('keeps hoisted packages at the top and nests a second version under its user', async () => {
    work = tempDir('closure');
    const nm = join(work.path, 'node_modules');
    pkg(join(nm, 'a'), 'a', { version: '1.0.0', dependencies: { b: '^1', c: '^1' } });
    pkg(join(nm, 'a', 'node_modules', 'c'), 'c', { version: '1.5.0' });
    pkg(join(nm, 'b'), 'b', { version: '1.0.0', dependencies: { a: '^1' } }); // a cycle back to a
    pkg(join(nm, 'c'), 'c', { version: '2.0.0' });
    pkg(join(nm, 'unused'), 'unused', { version: '1.0.0' });
    const closure = await dependencyClosure(app(work.path, ['a', 'c']), amd64);
    expect(layout(closure)).toEqual([
      'node_modules/a@1.0.0',
      'node_modules/a/node_modules/c@1.5.0',
      'node_modules/b@1.0.0',
      'node_modules/c@2.0.0',
    ]);
    expect(closure.packages.find((p) => p.target === 'node_modules/a/node_modules/c')?.source).toBe(
      join(nm, 'a', 'node_modules', 'c'),
    );
  });

  it('finds packages hoisted above the installation (modelport installed into a project)', async () => {
    work = tempDir('closure');
    const project = join(work.path, 'project', 'node_modules');
    const root = join(project, 'modelport');
    pkg(join(project, 'fastify'), 'fastify', { version: '5.0.0', dependencies: { '@s/util': '1' } });
    pkg(join(project, '@s', 'util'), '@s/util', { version: '1.2.3' });
    const closure = await dependencyClosure(app(root, ['fastify']), amd64);
    expect(layout(closure)).toEqual(['node_modules/@s/util@1.2.3', 'node_modules/fastify@5.0.0']);
    expect(closure.packages[0]?.source).toBe(join(project, '@s', 'util'));
  });

  it('follows symlinked packages to their real folder (pnpm layout)', async () => {
    work = tempDir('closure');
    const store = join(work.path, 'node_modules', '.pnpm', 'd@1.0.0', 'node_modules');
    pkg(join(store, 'd'), 'd', { version: '1.0.0', dependencies: { e: '1' } });
    pkg(join(store, 'e'), 'e', { version: '1.0.0' });
    symlinkSync(join(store, 'd'), join(work.path, 'node_modules', 'd'));
    const closure = await dependencyClosure(app(work.path, ['d']), amd64);
    expect(layout(closure)).toEqual(['node_modules/d@1.0.0', 'node_modules/e@1.0.0']);
  });

  it('takes installed optional dependencies and peers, skips missing ones, and fails on a missing dependency', async () => {
    work = tempDir('closure');
    const nm = join(work.path, 'node_modules');
    pkg(join(nm, 'a'), 'a', {
      version: '1.0.0',
      optionalDependencies: { here: '1', gone: '1' },
      peerDependencies: { peer: '1', 'missing-peer': '1' },
    });
    for (const name of ['here', 'peer']) pkg(join(nm, name), name, { version: '1.0.0' });
    const closure = await dependencyClosure(app(work.path, ['a']), amd64);
    expect(layout(closure)).toEqual([
      'node_modules/a@1.0.0',
      'node_modules/here@1.0.0',
      'node_modules/peer@1.0.0',
    ]);
    expect(closure.skipped.map((s) => s.name).sort()).toEqual(['gone', 'missing-peer']);

    pkg(join(nm, 'b'), 'b', { version: '2.0.0', dependencies: { absent: '1' } });
    await expect(dependencyClosure(app(work.path, ['b']), amd64)).rejects.toThrow(
      expect.objectContaining({
        code: 'DEPENDENCY_MISSING',
        message: 'absent (a dependency of b@2.0.0) is not installed',
      }),
    );
    await expect(dependencyClosure(app(work.path, ['nope']), amd64)).rejects.toThrow(
      /nope \(imported by modules\/scoring\/server.js\)/,
    );
  });

  it('leaves out optional packages for another CPU and refuses required ones', async () => {
    work = tempDir('closure');
    const nm = join(work.path, 'node_modules');
    pkg(join(nm, 'tool'), 'tool', { version: '1.0.0', optionalDependencies: { 'tool-linux-x64': '1' } });
    pkg(join(nm, 'tool-linux-x64'), 'tool-linux-x64', { version: '1.0.0', os: ['linux'], cpu: ['x64'] });
    expect(layout(await dependencyClosure(app(work.path, ['tool']), amd64))).toContain(
      'node_modules/tool-linux-x64@1.0.0',
    );
    const forArm = await dependencyClosure(app(work.path, ['tool']), arm64);
    expect(layout(forArm)).toEqual(['node_modules/tool@1.0.0']);
    expect(forArm.skipped).toEqual([
      { name: 'tool-linux-x64', reason: 'built for cpu x64', requiredBy: 'tool@1.0.0' },
    ]);

    pkg(join(nm, 'strict'), 'strict', { version: '1.0.0', dependencies: { 'tool-linux-x64': '1' } });
    await expect(dependencyClosure(app(work.path, ['strict']), arm64)).rejects.toThrow(
      expect.objectContaining({ code: 'DEPENDENCY_PLATFORM_MISMATCH' }),
    );
  });

  it('refuses two versions of one package at the top (entry script and server disagree)', async () => {
    work = tempDir('closure');
    pkg(join(work.path, 'node_modules', 'x'), 'x', { version: '1.0.0' });
    const scriptDir = join(work.path, 'script');
    pkg(join(scriptDir, 'node_modules', 'x'), 'x', { version: '2.0.0' });
    const roots = [
      ...app(work.path, ['x']),
      { name: 'x', importer: 'entry script score.mjs', fromDir: scriptDir },
    ];
    await expect(dependencyClosure(roots, amd64)).rejects.toThrow(
      expect.objectContaining({
        code: 'DEPENDENCY_VERSION_CONFLICT',
        message: expect.stringContaining('x@2.0.0'),
      }),
    );
  });

  it('reuses an installed copy of the same version instead of shipping it twice', async () => {
    work = tempDir('closure');
    const nm = join(work.path, 'node_modules');
    pkg(join(nm, 'p'), 'p', { version: '1.0.0', dependencies: { q: '2' } });
    pkg(join(nm, 'p', 'node_modules', 'q'), 'q', { version: '2.0.0' });
    pkg(join(nm, 'r'), 'r', { version: '1.0.0', dependencies: { q: '2' } });
    pkg(join(nm, 'r', 'node_modules', 'q'), 'q', { version: '2.0.0' });
    const closure = await dependencyClosure(app(work.path, ['p', 'r']), amd64);
    expect(layout(closure)).toEqual(['node_modules/p@1.0.0', 'node_modules/q@2.0.0', 'node_modules/r@1.0.0']);
    expect(dirname(closure.packages[1]?.source ?? '')).toBe(join(nm, 'p', 'node_modules'));
  });
});

describe('platformMismatch', () => {
  it.each([
    [{}, undefined],
    [{ os: ['linux'], cpu: ['arm64'] }, undefined],
    [{ os: ['darwin'] }, 'built for os darwin'],
    [{ cpu: ['!arm64'] }, 'built for cpu !arm64'],
    [{ cpu: ['!x64'] }, undefined],
  ])('%j on linux/arm64 → %s', (fields, expected) => {
    expect(platformMismatch(fields, arm64)).toBe(expected);
  });
});
