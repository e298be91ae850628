/**
 * The agent image's build context: `app/` holds the compiled agent (dist/agent, dist/manifests,
 * dist/common), its launcher and the node_modules it imports (found by scanning the compiled code,
 * then following package.json dependencies), beside the Dockerfile for the platform. No RUN steps are
 * needed, so an x64 machine builds the arm64 image too, given the one native addon (better-sqlite3)
 * built for arm64 (`nativePackages`).
 *
 *   npm run build
 *   node dist/agent/image/cli.js --out /tmp/agent-ctx [--platform linux/arm64 --native-package better-sqlite3=DIR]
 *   docker build -t modelport-agent:0.1.0 /tmp/agent-ctx
 */

import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { UsageError } from '../../common/errors.js';

export type AgentPlatform = 'linux/amd64' | 'linux/arm64';

export interface AgentContextOptions {
  /** The modelport checkout or install: dist/, bin/, node_modules/, package.json, agent/Dockerfile*. */
  root: string;
  out: string;
  platform: AgentPlatform;
  /** Package folders built for `platform`, used instead of this machine's: `{ 'better-sqlite3': DIR }`. */
  nativePackages?: Record<string, string>;
}

export interface AgentContext {
  out: string;
  dockerfile: string;
  packages: { name: string; version: string; target: string }[];
}

const DIST_PARTS = ['agent', 'manifests', 'common'];
/** Native addons the agent cannot run without; the others (ssh2's crypto, cpu-features) are optional. */
const REQUIRED_NATIVE = ['better-sqlite3'];
/** Only folders that are never code: a package may keep modules under any other name (yaml has doc/). */
const SKIPPED_DIRS = new Set(['.github']);
/** better-sqlite3 ships its C sources and build objects; only lib/ and the .node binary are used. */
const PRUNE: Record<string, RegExp> = {
  'better-sqlite3': /^(deps|src|docs)\/|^build\/(?!Release\/better_sqlite3\.node$)/,
};
/** Sources, maps, docs and type declarations: nothing the agent loads at run time. */
const UNUSED_FILES = /\.(map|md|markdown|ts|mts|cts|gyp|gypi|cc|cpp|c|h|hpp|a|o)$/i;
const HOST_PLATFORM: AgentPlatform = process.arch === 'arm64' ? 'linux/arm64' : 'linux/amd64';
const BUILTINS = new Set(builtinModules);
const PACKAGE_SPECIFIER = /^(?:node:[\w/]+|(?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(?:\/[\w.\-/]+)?)$/i;

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}

/** Package names the compiled code imports (bare specifiers, builtins excluded). */
export function importedPackages(source: string): Set<string> {
  const names = new Set<string>();
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)['"]([^'"./][^'"]*)['"]/g;
  for (const m of source.matchAll(pattern)) {
    const spec = m[1] ?? '';
    // Text that only looks like an import (inside a string) is not a package name.
    if (!PACKAGE_SPECIFIER.test(spec)) continue;
    if (spec.startsWith('node:') || BUILTINS.has(spec.split('/')[0] ?? '')) continue;
    const parts = spec.split('/');
    names.add(spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? spec));
  }
  return names;
}

function findPackage(name: string, fromDir: string, root: string): string | undefined {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    const parent = dirname(dir);
    if (dir === root || parent === dir) return undefined;
    dir = parent;
  }
}

interface PackageJson {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** A package's files, relative and '/'-separated, without its nested node_modules (placed on their own). */
async function packageFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
    const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && !SKIPPED_DIRS.has(entry.name))
        out.push(...(await packageFiles(dir, path)));
    } else if (entry.isFile() || entry.isSymbolicLink()) out.push(path);
  }
  return out;
}

async function copyPackage(
  source: string,
  target: string,
  name: string,
  stripNative: boolean,
): Promise<void> {
  const prune = PRUNE[name];
  const files = (await packageFiles(source)).filter(
    (rel) => !UNUSED_FILES.test(rel) && !prune?.test(rel) && !(stripNative && rel.endsWith('.node')),
  );
  for (const folder of new Set(files.map((rel) => dirname(join(target, rel)))))
    await mkdir(folder, { recursive: true });
  // Thousands of small files: copy a batch at a time rather than one after the other.
  for (let i = 0; i < files.length; i += 64) {
    await Promise.all(files.slice(i, i + 64).map((rel) => copyFile(join(source, rel), join(target, rel))));
  }
}

export async function buildAgentContext(options: AgentContextOptions): Promise<AgentContext> {
  const root = resolve(options.root);
  const out = resolve(options.out);
  const app = join(out, 'app');
  const crossBuild = options.platform !== HOST_PLATFORM;
  for (const name of REQUIRED_NATIVE) {
    if (crossBuild && !options.nativePackages?.[name]) {
      throw new UsageError(
        'NATIVE_PACKAGE_MISSING',
        `${name} is a native addon built here for ${HOST_PLATFORM}; the ${options.platform} image needs one built for ${options.platform}`,
        {
          hint: `pass --native-package ${name}=DIR (e.g. from \`npm install ${name}\` on an ${options.platform} machine)`,
        },
      );
    }
  }
  await rm(out, { recursive: true, force: true });
  await mkdir(app, { recursive: true });

  const wanted: { name: string; fromDir: string }[] = [];
  for (const part of DIST_PARTS) {
    const from = join(root, 'dist', part);
    for (const file of await walk(from)) {
      if (file.endsWith('.map')) continue;
      const target = join(app, 'dist', part, relative(from, file));
      await mkdir(dirname(target), { recursive: true });
      await cp(file, target);
      if (file.endsWith('.js')) {
        for (const name of importedPackages(await readFile(file, 'utf8')))
          wanted.push({ name, fromDir: dirname(file) });
      }
    }
  }
  await mkdir(join(app, 'bin'), { recursive: true });
  await cp(join(root, 'bin', 'modelport-agent.js'), join(app, 'bin', 'modelport-agent.js'));
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as PackageJson;
  await writeFile(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'modelport', version: pkg.version, type: 'module', private: true }, null, 2)}\n`,
  );

  const placed = new Map<string, { name: string; version: string; target: string }>();
  while (wanted.length > 0) {
    const { name, fromDir } = wanted.pop() as { name: string; fromDir: string };
    // dist/ has no node_modules of its own: resolve from the checkout root, as Node would for dist/.
    const dir = findPackage(name, fromDir.startsWith(join(root, 'dist')) ? root : fromDir, root);
    if (!dir)
      throw new UsageError(
        'PACKAGE_NOT_INSTALLED',
        `${name} is imported by the agent but not installed under ${root}`,
      );
    const target = relative(root, dir);
    if (placed.has(target)) continue;
    const info = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as PackageJson;
    placed.set(target, { name: info.name, version: info.version, target });
    const override = options.nativePackages?.[info.name];
    await copyPackage(override ?? dir, join(app, target), info.name, crossBuild && !override);
    for (const dep of Object.keys(info.dependencies ?? {})) wanted.push({ name: dep, fromDir: dir });
    for (const dep of Object.keys(info.optionalDependencies ?? {})) {
      if (findPackage(dep, dir, root)) wanted.push({ name: dep, fromDir: dir });
    }
  }

  const dockerfile = options.platform === 'linux/arm64' ? 'Dockerfile.arm64' : 'Dockerfile';
  await cp(join(root, 'agent', dockerfile), join(out, 'Dockerfile'));
  return { out, dockerfile, packages: [...placed.values()].sort((a, b) => a.target.localeCompare(b.target)) };
}

/** Total size of a folder, for reports. */
export async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const file of await walk(dir)) total += (await stat(file)).size;
  return total;
}
