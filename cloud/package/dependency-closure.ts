import { readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ModelportError } from '../../common/errors.js';
import type { PlatformFacts } from './platform.js';

/** One installed package the image needs, and where it goes under the image's server folder. */
export interface PlacedPackage {
  name: string;
  version: string;
  /** Real folder on this machine. */
  source: string;
  /** Folder in the image relative to the server root: `node_modules/a` or `node_modules/a/node_modules/b`. */
  target: string;
}

export interface DependencyClosure {
  packages: PlacedPackage[];
  /** Optional dependencies left out (not installed here, or built for another OS or CPU). */
  skipped: { name: string; reason: string; requiredBy: string }[];
}

interface PackageJson {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  os?: string[];
  cpu?: string[];
}

interface Installed {
  dir: string;
  pkg: PackageJson;
}

/** A package imported by shipped code (the scoring module or the entry script). */
export interface RootImport {
  name: string;
  /** The importing file, for messages. */
  importer: string;
  /** Folder Node starts resolving from on this machine. */
  fromDir: string;
}

interface Want {
  name: string;
  required: boolean;
}

/**
 * The production-dependency closure of `imports`, resolved the way Node resolves them from each
 * import's folder and then from each package's real folder: `dependencies`,
 * installed `optionalDependencies` and installed peers. The result is laid out as a fresh node_modules
 * tree (hoisted where names don't clash, nested where two versions of a name are needed), so it does
 * not matter whether this machine's tree is a checkout, a hoisted project install or a global install.
 * Packages declaring `os`/`cpu` that exclude the target are left out when optional and refused otherwise.
 */
export async function dependencyClosure(
  imports: readonly RootImport[],
  platform: PlatformFacts,
): Promise<DependencyClosure> {
  const cache = new Map<string, Installed>();
  const skipped: DependencyClosure['skipped'] = [];
  const placed = new Map<string, PlacedPackage>(); // by target
  const queue: { target: string; installed: Installed }[] = [];

  const place = (parentTarget: string, name: string, installed: Installed, owner: string): void => {
    // Walk up from the requesting folder as Node will in the image: the nearest `name` wins.
    for (const base of ancestorsOf(parentTarget)) {
      const existing = placed.get(join(base, 'node_modules', name));
      if (existing === undefined) continue;
      // Already reachable: the same folder, or another copy of the same published version.
      if (existing.source === installed.dir || existing.version === (installed.pkg.version ?? '0.0.0'))
        return;
      break; // a different version is nearer: nest below the requester
    }
    const top = join('node_modules', name);
    const target = placed.has(top) ? join(parentTarget, 'node_modules', name) : top;
    const clash = placed.get(target);
    if (clash !== undefined) {
      throw new ModelportError(
        'DEPENDENCY_VERSION_CONFLICT',
        `${owner} needs ${name}@${installed.pkg.version}, but ${name}@${clash.version} is already there`,
        {
          hint: 'install one version of it for both (the entry script and the scoring module share node_modules)',
        },
      );
    }
    placed.set(target, {
      name,
      version: installed.pkg.version ?? '0.0.0',
      source: installed.dir,
      target,
    });
    queue.push({ target, installed });
  };

  for (const { name, importer, fromDir } of imports) {
    const installed = await resolveInstalled(name, fromDir, cache);
    if (installed === undefined) {
      throw new ModelportError('DEPENDENCY_MISSING', `${name} (imported by ${importer}) is not installed`, {
        hint: 'run `npm install` in the modelport installation',
      });
    }
    assertPlatform(installed, platform, importer);
    place('', name, installed, importer);
  }
  while (queue.length > 0) {
    const { target, installed } = queue.shift()!;
    const owner = `${installed.pkg.name}@${installed.pkg.version}`;
    for (const want of wantedDependencies(installed.pkg)) {
      const dep = await resolveInstalled(want.name, installed.dir, cache);
      if (dep === undefined) {
        if (!want.required) {
          skipped.push({ name: want.name, reason: 'not installed', requiredBy: owner });
          continue;
        }
        throw new ModelportError(
          'DEPENDENCY_MISSING',
          `${want.name} (a dependency of ${owner}) is not installed`,
          {
            hint: 'run `npm install` in the modelport installation',
          },
        );
      }
      const mismatch = platformMismatch(dep.pkg, platform);
      if (mismatch !== undefined) {
        if (!want.required) {
          skipped.push({ name: want.name, reason: mismatch, requiredBy: owner });
          continue;
        }
        assertPlatform(dep, platform, owner);
      }
      place(target, want.name, dep, owner);
    }
  }
  const packages = [...placed.values()].sort((a, b) => (a.target < b.target ? -1 : 1));
  return { packages, skipped };
}

/** `dependencies` are required; optional ones and peers are taken when installed. */
function wantedDependencies(pkg: PackageJson): Want[] {
  const wants = new Map<string, Want>();
  for (const name of Object.keys(pkg.peerDependencies ?? {})) wants.set(name, { name, required: false });
  for (const name of Object.keys(pkg.optionalDependencies ?? {})) wants.set(name, { name, required: false });
  for (const name of Object.keys(pkg.dependencies ?? {})) {
    // npm lists an optional dependency in both maps; optional wins.
    if (!(name in (pkg.optionalDependencies ?? {}))) wants.set(name, { name, required: true });
  }
  return [...wants.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** True when Node, starting from `fromDir`, finds an installed package `name`. */
export async function isInstalledFrom(name: string, fromDir: string): Promise<boolean> {
  return (await resolveInstalled(name, fromDir, new Map())) !== undefined;
}

/** Node's lookup: `<dir>/node_modules/<name>` for `fromDir` and each ancestor, skipping node_modules folders. */
async function resolveInstalled(
  name: string,
  fromDir: string,
  cache: Map<string, Installed>,
): Promise<Installed | undefined> {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    if (basename(dir) !== 'node_modules') {
      const candidate = join(dir, 'node_modules', name);
      if (await isFile(join(candidate, 'package.json'))) {
        const real = await realpath(candidate);
        let installed = cache.get(real);
        if (installed === undefined) {
          const pkg = JSON.parse(await readFile(join(real, 'package.json'), 'utf8')) as PackageJson;
          installed = { dir: real, pkg };
          cache.set(real, installed);
        }
        return installed;
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** Why a package cannot run on the target (its `os`/`cpu` fields), or undefined when it can. */
export function platformMismatch(
  pkg: Pick<PackageJson, 'os' | 'cpu'>,
  platform: PlatformFacts,
): string | undefined {
  if (!listAllows(pkg.os, 'linux')) return `built for os ${pkg.os?.join(', ')}`;
  if (!listAllows(pkg.cpu, platform.nodeArch)) return `built for cpu ${pkg.cpu?.join(', ')}`;
  return undefined;
}

function assertPlatform(installed: Installed, platform: PlatformFacts, requiredBy: string): void {
  const mismatch = platformMismatch(installed.pkg, platform);
  if (mismatch === undefined) return;
  throw new ModelportError(
    'DEPENDENCY_PLATFORM_MISMATCH',
    `${installed.pkg.name} (needed by ${requiredBy}) is ${mismatch}, not ${platform.platform}`,
    {
      hint: `install modelport's dependencies for ${platform.platform}, or package for this machine's platform`,
    },
  );
}

/** npm's `os`/`cpu` semantics: absent = any; `!x` entries exclude; plain entries are an allow list. */
function listAllows(list: string[] | undefined, value: string): boolean {
  if (list === undefined || list.length === 0) return true;
  if (list.includes(`!${value}`)) return false;
  const allows = list.filter((v) => !v.startsWith('!'));
  return allows.length === 0 || allows.includes(value);
}

/** The folder itself, then each parent up to the server root (''), as Node walks them. */
function ancestorsOf(target: string): string[] {
  const out: string[] = [];
  let dir = target;
  for (;;) {
    if (basename(dir) !== 'node_modules') out.push(dir);
    if (dir === '' || dir === '.') break;
    const parent = dirname(dir);
    dir = parent === '.' ? '' : parent;
  }
  if (out[out.length - 1] !== '') out.push('');
  return out;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    // Missing or unreadable: not an installed package here; the caller keeps looking upwards.
    return false;
  }
}
