import { existsSync, readFileSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelportError } from '../../common/errors.js';
import { SERVER_MAIN } from './image-layout.js';

/** The installed modelport whose compiled scoring module goes into images. */
export interface ModelportInstall {
  root: string;
  /** `<root>/dist`: what `npm run build` writes. */
  dist: string;
  version: string;
  /** `repository.url` of its package.json, if any. */
  repository: string | undefined;
}

interface PackageJson {
  name?: string;
  version?: string;
  repository?: string | { url?: string };
}

/**
 * Finds modelport's own root from a module URL (this file's by default): the nearest folder above it
 * whose package.json is named `modelport`. Works from dist/ and from the TypeScript sources.
 */
export function findModelportInstall(fromUrl: string = import.meta.url): ModelportInstall {
  let dir = dirname(fileURLToPath(fromUrl));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as PackageJson;
      if (pkg.name === 'modelport') {
        const repository = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
        return { root: dir, dist: join(dir, 'dist'), version: pkg.version ?? '0.0.0', repository };
      }
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new ModelportError('MODELPORT_ROOT_NOT_FOUND', `no modelport package.json above ${fromUrl}`, {
        hint: 'run modelport from its installation (npm install modelport, or a checkout)',
      });
    }
    dir = parent;
  }
}

/** Fails with a clear message when the compiled scoring module is missing. */
export function requireCompiledScoring(install: ModelportInstall): void {
  const main = join(install.dist, SERVER_MAIN);
  if (!existsSync(main) || !statSync(main).isFile()) {
    throw new ModelportError(
      'SCORING_NOT_BUILT',
      `the compiled scoring module is missing (${main}): images are built from dist/`,
      { hint: `run \`npm run build\` in ${install.root}` },
    );
  }
}

/**
 * TypeScript files under modules/scoring and common that are newer than their compiled .js (a checkout
 * edited since the last build). Empty for an npm install, which ships no sources.
 */
export async function staleSources(install: ModelportInstall): Promise<string[]> {
  const stale: string[] = [];
  for (const folder of ['modules/scoring', 'common']) {
    const sources = join(install.root, folder);
    if (!existsSync(sources)) continue;
    for (const entry of await readdir(sources, { recursive: true })) {
      if (!entry.endsWith('.ts') || entry.endsWith('.d.ts')) continue;
      const compiled = join(install.dist, folder, entry.replace(/\.ts$/, '.js'));
      const [src, out] = await Promise.all([
        stat(join(sources, entry)),
        stat(compiled).catch(() => undefined),
      ]);
      if (out === undefined || src.mtimeMs > out.mtimeMs) stale.push(`${folder}/${entry}`);
    }
  }
  return stale.sort();
}
