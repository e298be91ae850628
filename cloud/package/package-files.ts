import { open, readdir, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { ModelportError } from '../../common/errors.js';
import type { PlacedPackage } from './dependency-closure.js';
import type { PlatformFacts } from './platform.js';

/** Why a file of an installed package stays out of the image. */
export type PruneReason = 'docs' | 'types' | 'source-maps' | 'tests-and-examples' | 'other-platforms';

export interface PackageFile {
  /** Real file on this machine. */
  source: string;
  /** Path in the image relative to the server root ('/'-separated). */
  target: string;
  size: number;
  executable: boolean;
}

export type PruneStats = Record<PruneReason, { files: number; bytes: number }>;

export function emptyPruneStats(): PruneStats {
  return {
    docs: { files: 0, bytes: 0 },
    types: { files: 0, bytes: 0 },
    'source-maps': { files: 0, bytes: 0 },
    'tests-and-examples': { files: 0, bytes: 0 },
    'other-platforms': { files: 0, bytes: 0 },
  };
}

/** Folders at a package's top level that only serve its development. */
const DEV_FOLDERS = new Set([
  'test',
  'tests',
  '__tests__',
  'spec',
  'example',
  'examples',
  'benchmark',
  'benchmarks',
  'bench',
  'coverage',
  'docs',
  'doc',
  '.github',
  '.vscode',
  '.idea',
  '.nyc_output',
]);
const DEV_FILES =
  /^(\.npmignore|\.eslintrc(\..*)?|\.prettierrc(\..*)?|\.editorconfig|\.travis\.yml|\.gitattributes|\.taprc|.*\.tsbuildinfo)$/i;
const LEGAL = /^(licen[cs]e|notice|copying|authors|patents)(\b|[._-])/i;
const NATIVE = /\.(node|so(\.\d+)*|dylib|dll)$/;

/**
 * Pure part of pruning: why `path` (inside a package, '/'-separated) stays out, or undefined to keep it.
 * onnxruntime-node's per-platform binaries are narrowed to the target here; other native files are
 * judged by their headers in `packageFiles`.
 */
export function pruneReason(
  packageName: string,
  path: string,
  platform: PlatformFacts,
): PruneReason | undefined {
  const parts = path.split('/');
  const file = parts[parts.length - 1] ?? '';
  if (parts.length > 1 && DEV_FOLDERS.has(parts[0] ?? '')) return 'tests-and-examples';
  if (LEGAL.test(file)) return undefined;
  if (packageName === 'onnxruntime-node' && parts[0] === 'bin' && parts.length >= 5) {
    // bin/napi-v<N>/<os>/<arch>/<file>
    if (parts[2] !== 'linux' || parts[3] !== platform.nodeArch) return 'other-platforms';
  }
  if (/\.d\.[cm]?ts$/.test(file)) return 'types';
  if (/\.[cm]?ts$/.test(file) || /\.tsx$/.test(file)) return 'types';
  if (file.endsWith('.map')) return 'source-maps';
  if (/\.(md|markdown)$/i.test(file)) return 'docs';
  if (DEV_FILES.test(file)) return 'docs';
  return undefined;
}

type NativeKind = { kind: 'elf'; machine: number } | { kind: 'other-os' } | { kind: 'unknown' };

/** ELF (Linux) with its CPU, Mach-O / PE (other operating systems), or something else. */
export function nativeKind(header: Buffer): NativeKind {
  if (header.length >= 20 && header.readUInt32BE(0) === 0x7f454c46) {
    // e_machine at offset 18, in the byte order EI_DATA (offset 5) gives.
    const machine = header[5] === 2 ? header.readUInt16BE(18) : header.readUInt16LE(18);
    return { kind: 'elf', machine };
  }
  if (header.length >= 4) {
    const magic = header.readUInt32BE(0);
    const machO = [0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe];
    if (machO.includes(magic) || (header[0] === 0x4d && header[1] === 0x5a)) return { kind: 'other-os' };
  }
  return { kind: 'unknown' };
}

/**
 * The files of one installed package that go into the image, pruned for production and the target
 * platform. Native code built for another CPU is dropped when the package also ships the target's;
 * a package whose only native code is for another CPU cannot run there and is refused.
 */
export async function packageFiles(
  pkg: PlacedPackage,
  platform: PlatformFacts,
  stats: PruneStats,
): Promise<PackageFile[]> {
  const entries = await readdir(pkg.source, { recursive: true, withFileTypes: true });
  const kept: PackageFile[] = [];
  const foreign: PackageFile[] = [];
  let targetNative = 0;
  for (const entry of entries) {
    const absolute = join(entry.parentPath, entry.name);
    const path = absolute
      .slice(pkg.source.length + 1)
      .split(sep)
      .join('/');
    // Nested packages are placed on their own by the dependency closure.
    if (path === 'node_modules' || path.startsWith('node_modules/')) continue;
    if (!entry.isFile() && !entry.isSymbolicLink()) continue;
    const info = await stat(absolute).catch(() => undefined);
    if (!info?.isFile()) continue; // dangling links and links to folders carry no runtime code
    const reason = pruneReason(pkg.name, path, platform);
    if (reason !== undefined) {
      stats[reason].files++;
      stats[reason].bytes += info.size;
      continue;
    }
    const file = {
      source: absolute,
      target: `${pkg.target.split(sep).join('/')}/${path}`,
      size: info.size,
      executable: (info.mode & 0o111) !== 0,
    };
    if (NATIVE.test(entry.name)) {
      const kind = nativeKind(await readHeader(absolute));
      if (kind.kind === 'other-os') {
        stats['other-platforms'].files++;
        stats['other-platforms'].bytes += info.size;
        continue;
      }
      if (kind.kind === 'elf' && kind.machine !== platform.elfMachine) {
        foreign.push(file);
        continue;
      }
      if (kind.kind === 'elf') targetNative++;
    }
    kept.push(file);
  }
  if (foreign.length > 0 && targetNative === 0) {
    throw new ModelportError(
      'NATIVE_CODE_PLATFORM_MISMATCH',
      `${pkg.name}@${pkg.version} holds native code for another CPU only (${foreign[0]?.target}); it cannot run on ${platform.platform}`,
      { hint: `install ${pkg.name} for ${platform.platform} (or package for this machine's platform)` },
    );
  }
  for (const f of foreign) {
    stats['other-platforms'].files++;
    stats['other-platforms'].bytes += f.size;
  }
  return kept.sort((a, b) => (a.target < b.target ? -1 : 1));
}

async function readHeader(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(20);
    const { bytesRead } = await handle.read(buffer, 0, 20, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
