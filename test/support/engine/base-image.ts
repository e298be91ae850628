import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { BUSYBOX_PACKAGE, ensurePackages } from './apt.js';
import { addBusyboxApplets, addRuntimeSkeleton, listBusyboxApplets, sharedLibraries } from './base-rootfs.js';
import {
  BASE_LABEL_INPUT_HASH,
  BASE_LABEL_RECIPE,
  buildImageFromRootfs,
  findImageWithHash,
} from './build-image.js';
import { EngineHarnessError } from './errors.js';
import { withLock } from './lock.js';
import { RootfsBuilder } from './rootfs.js';
import { findExecutable } from './run.js';

export const BASE_IMAGE_TAG = 'modelport-test/node-base:20';
/** Bump when the recipe changes in a way the file contents don't show. */
const RECIPE = 'node-base-x64/1';
/** onnxruntime-node's libonnxruntime.so.1 needs librt, which node itself doesn't link. */
const EXTRA_LIBRARIES = ['librt.so.1'];

export interface BaseImage {
  tag: string;
  id: string;
  inputHash: string;
  sizeBytes: number;
  /** False when an image with the same input hash was already there. */
  built: boolean;
}

export interface BaseImageOptions {
  /** Scratch space for the root file system tar, and the lock folder. */
  cacheDir: string;
  tag?: string;
  /** The node binary to ship; default the one running this code. */
  nodePath?: string;
  allowInstall?: boolean;
}

/** What every base image declares besides its files (shared with the arm64 recipe). */
export function baseImageConfig(nodeVersion: string) {
  return {
    env: {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      NODE_VERSION: nodeVersion,
    },
    cmd: ['node'],
  };
}

/**
 * Ensures the x64 test base image: the host's node binary and the libraries `ldd` lists, a static
 * busybox as /bin/sh with its applets (for Dockerfile RUN steps), and users `node`/`modelport`.
 * Built offline in one layer; reused as is when an image with the same input hash exists.
 */
export async function ensureBaseImage(docker: Docker, options: BaseImageOptions): Promise<BaseImage> {
  await ensurePackages([BUSYBOX_PACKAGE], { allowInstall: options.allowInstall ?? true });
  const busybox = await findExecutable(BUSYBOX_PACKAGE.executable);
  if (busybox === undefined) throw new EngineHarnessError('ENGINE_PACKAGE_MISSING', 'busybox not found');
  const nodePath = options.nodePath ?? process.execPath;
  const nodeVersion = process.versions.node;
  const tag = options.tag ?? BASE_IMAGE_TAG;

  const rootfs = new RootfsBuilder();
  // Debian's merged /usr (`/lib -> usr/lib`, ...) first, so nothing creates those as plain folders.
  for (const top of ['/bin', '/sbin', '/lib', '/lib64']) {
    if ((await lstat(top).catch(() => undefined))?.isSymbolicLink()) await rootfs.mirrorHostPath(top);
  }
  addRuntimeSkeleton(rootfs);
  for (const lib of await sharedLibraries(nodePath, EXTRA_LIBRARIES)) await rootfs.mirrorHostPath(lib);
  await rootfs.copyHostFile(nodePath, '/usr/local/bin/node', { mode: 0o755 });
  rootfs.symlink('/usr/bin/node', '/usr/local/bin/node');
  await rootfs.copyHostFile(busybox, '/bin/busybox', { mode: 0o755 });
  addBusyboxApplets(rootfs, '/bin/busybox', await listBusyboxApplets(busybox));

  const config = baseImageConfig(nodeVersion);
  return ensureRootfsImage(docker, {
    rootfs,
    tag,
    recipe: RECIPE,
    platform: 'linux/amd64',
    cacheDir: options.cacheDir,
    ...config,
  });
}

export interface RootfsImageRecipe {
  rootfs: RootfsBuilder;
  tag: string;
  recipe: string;
  platform: string;
  cacheDir: string;
  env: Record<string, string>;
  cmd: string[];
}

/**
 * Reuses `tag` when its input-hash label matches the recipe, otherwise writes the root file system
 * tar and builds it; under a lock so concurrent runs on one engine build it once.
 */
export async function ensureRootfsImage(docker: Docker, recipe: RootfsImageRecipe): Promise<BaseImage> {
  const inputHash = createHash('sha256')
    .update(
      JSON.stringify({ recipe: recipe.recipe, platform: recipe.platform, env: recipe.env, cmd: recipe.cmd }),
    )
    .update(await recipe.rootfs.inputHash())
    .digest('hex');
  const lockName = recipe.tag.replace(/[^a-zA-Z0-9.-]/g, '_');
  return withLock(path.join(recipe.cacheDir, 'locks', lockName), async () => {
    const existing = await findImageWithHash(docker, recipe.tag, inputHash);
    if (existing !== undefined) return { tag: recipe.tag, inputHash, built: false, ...existing };
    const previousId = await imageId(docker, recipe.tag);
    await mkdir(recipe.cacheDir, { recursive: true });
    const work = await mkdtemp(path.join(recipe.cacheDir, 'build-'));
    try {
      const rootfsTar = path.join(work, 'rootfs.tar');
      await recipe.rootfs.writeTar(rootfsTar);
      await buildImageFromRootfs(docker, {
        rootfsTar,
        tag: recipe.tag,
        platform: recipe.platform,
        labels: { [BASE_LABEL_RECIPE]: recipe.recipe, [BASE_LABEL_INPUT_HASH]: inputHash },
        env: recipe.env,
        cmd: recipe.cmd,
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    const built = await findImageWithHash(docker, recipe.tag, inputHash);
    if (built === undefined) {
      throw new EngineHarnessError(
        'BASE_IMAGE_BUILD_FAILED',
        `${recipe.tag} is missing its input-hash label after the build`,
      );
    }
    if (previousId !== undefined && previousId !== built.id) await removeIfUnused(docker, previousId);
    return { tag: recipe.tag, inputHash, built: true, ...built };
  });
}

async function imageId(docker: Docker, tag: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(tag).inspect()).Id;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return undefined;
    throw e;
  }
}

/** Drops a replaced base image (vfs keeps a full copy of each); one still in use stays. */
async function removeIfUnused(docker: Docker, id: string): Promise<void> {
  try {
    await docker.getImage(id).remove();
  } catch (e) {
    // 409: containers or child images still use it; it goes when they do. 404: already gone.
    const status = (e as { statusCode?: number }).statusCode;
    if (status !== 409 && status !== 404) throw e;
  }
}
