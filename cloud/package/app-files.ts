import { readdir } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { join, sep } from 'node:path';
import type * as Esbuild from 'esbuild';
import { ModelportError, messageOf } from '../../common/errors.js';
import { lazyRequire } from '../../common/lazy-require.js';

const esbuild = lazyRequire<typeof Esbuild>('esbuild');

/** A file of the compiled scoring module, relative to dist/ ('/'-separated). */
export interface AppFile {
  path: string;
  absolute: string;
}

export interface AppFiles {
  files: AppFile[];
  /** Packages the files import (bare specifiers reduced to package names), each with an importer. */
  packages: Map<string, string>;
}

/** Folders of dist/ whose code must never be shipped in a module image (design.md folder rules). */
const FORBIDDEN = ['cloud/', 'agent/'];

/**
 * The compiled scoring module and everything it imports: every file under dist/modules/scoring (worker
 * threads are loaded by URL, so the whole folder ships) plus the files its imports reach elsewhere in
 * dist/ (common/, manifests/, …). Imports are read by esbuild's parser, so strings that merely look like
 * imports (an eval'd worker bootstrap) are not followed.
 */
export async function scoringAppFiles(dist: string): Promise<AppFiles> {
  const roots = await listFiles(join(dist, 'modules', 'scoring'));
  const shipped = roots.filter((f) => !f.endsWith('.map') && !f.endsWith('.d.ts'));
  const entryPoints = shipped.filter((f) => f.endsWith('.js')).map((f) => join('modules', 'scoring', f));
  const result = await esbuild()
    .build({
      entryPoints,
      absWorkingDir: dist,
      bundle: true,
      write: false,
      metafile: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outdir: join(dist, '.modelport-analysis'),
      logLevel: 'silent',
    })
    .catch((e: unknown) => {
      // esbuild rejects with every error it found; the first names the file and the import.
      const first = (e as { errors?: { text: string; location?: { file: string } | null }[] }).errors?.[0];
      throw new ModelportError(
        'SCORING_ANALYSIS_FAILED',
        `cannot follow the imports of the compiled scoring module: ${first ? `${first.location?.file ?? ''}: ${first.text}` : messageOf(e)}`,
        { hint: 'run `npm run build` so dist/ is complete and current', cause: e },
      );
    });
  const paths = new Set(shipped.map((f) => `modules/scoring/${f}`));
  const packages = new Map<string, string>();
  for (const [input, meta] of Object.entries(result.metafile.inputs)) {
    const path = input.split(sep).join('/');
    if (path.startsWith('../') || FORBIDDEN.some((f) => path.startsWith(f))) {
      throw new ModelportError(
        'SCORING_IMPORTS_FORBIDDEN',
        `the scoring module imports ${path}, which must not go into a module image`,
        { hint: 'modules/scoring may import common/ and manifests/ only (design.md folder rules)' },
      );
    }
    paths.add(path);
    for (const imported of meta.imports) {
      if (!imported.external || isBuiltin(imported.path)) continue;
      const name = packageName(imported.path);
      if (name !== undefined && !packages.has(name)) packages.set(name, path);
    }
  }
  const files = [...paths].sort().map((path) => ({ path, absolute: join(dist, ...path.split('/')) }));
  return { files, packages };
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`; undefined for relative or URL specifiers. */
export function packageName(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || /^[a-z]+:/i.test(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) =>
      join(e.parentPath, e.name)
        .slice(dir.length + 1)
        .split(sep)
        .join('/'),
    )
    .sort();
}
