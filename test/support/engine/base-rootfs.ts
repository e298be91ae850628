import path from 'node:path';
import { EngineHarnessError } from './errors.js';
import type { RootfsBuilder } from './rootfs.js';
import { runCommand } from './run.js';

/**
 * Users in every test base image: `node` (1000) as in the official node images the product's
 * Dockerfiles default to, and `modelport` (10001) for images that bring their own non-root user.
 */
export const BASE_IMAGE_USERS = [
  { name: 'node', uid: 1000 },
  { name: 'modelport', uid: 10001 },
] as const;

/** /etc files, /tmp and home folders a Node server and Dockerfile RUN steps expect. */
export function addRuntimeSkeleton(rootfs: RootfsBuilder): void {
  const users = BASE_IMAGE_USERS.map(
    (u) => `${u.name}:x:${u.uid}:${u.uid}:${u.name}:/home/${u.name}:/bin/sh`,
  );
  const groups = BASE_IMAGE_USERS.map((u) => `${u.name}:x:${u.uid}:`);
  rootfs
    .file(
      '/etc/passwd',
      [
        'root:x:0:0:root:/root:/bin/sh',
        ...users,
        'nobody:x:65534:65534:nobody:/nonexistent:/bin/false',
        '',
      ].join('\n'),
    )
    .file('/etc/group', ['root:x:0:', ...groups, 'nogroup:x:65534:', ''].join('\n'))
    .file('/etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\n')
    .dir('/tmp', { mode: 0o1777 })
    .dir('/root', { mode: 0o700 })
    .dir('/usr/local/bin');
  for (const user of BASE_IMAGE_USERS) {
    rootfs.dir(`/home/${user.name}`, { mode: 0o755, uid: user.uid, gid: user.uid });
  }
}

/** The applet paths (`bin/sh`, `usr/bin/env`, ...) a busybox binary provides, from the host's busybox. */
export async function listBusyboxApplets(hostBusybox: string): Promise<string[]> {
  const { stdout } = await runCommand(hostBusybox, ['--list-full']);
  // `linuxrc` is an init for initramfs images; it has no place at a container's root.
  const applets = stdout.split('\n').filter((line) => line.trim() !== '' && line !== 'linuxrc');
  if (!applets.includes('bin/sh')) {
    throw new EngineHarnessError(
      'BASE_IMAGE_BUILD_FAILED',
      `${hostBusybox} --list-full has no bin/sh applet`,
    );
  }
  return applets;
}

/** Links each applet to busybox, never replacing a real file already in the image (node, libraries). */
export function addBusyboxApplets(
  rootfs: RootfsBuilder,
  busyboxInImage: string,
  applets: readonly string[],
): void {
  for (const applet of applets) {
    const imagePath = path.posix.join('/', applet);
    if (imagePath === busyboxInImage || rootfs.has(imagePath)) continue;
    rootfs.symlink(imagePath, busyboxInImage);
  }
}

/**
 * Absolute paths of the shared libraries `ldd` resolves for a binary (including the dynamic loader),
 * plus `extra` sonames looked up beside libc (e.g. librt.so.1, which onnxruntime loads itself).
 */
export async function sharedLibraries(binary: string, extra: readonly string[] = []): Promise<string[]> {
  const { stdout } = await runCommand('ldd', [binary]);
  const libs: string[] = [];
  for (const raw of stdout.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('linux-vdso') || line.includes('statically linked')) continue;
    if (line.includes('not found')) {
      throw new EngineHarnessError('BASE_IMAGE_BUILD_FAILED', `ldd ${binary}: ${line}`);
    }
    const resolved = /=>\s+(\S+)\s+\(/.exec(line)?.[1] ?? /^(\/\S+)\s+\(/.exec(line)?.[1];
    if (resolved !== undefined) libs.push(resolved);
  }
  const libc = libs.find((lib) => path.basename(lib) === 'libc.so.6');
  if (libc === undefined && extra.length > 0) {
    throw new EngineHarnessError(
      'BASE_IMAGE_BUILD_FAILED',
      `ldd ${binary} lists no libc.so.6 to find ${extra.join(', ')} beside`,
    );
  }
  for (const soname of extra) libs.push(path.join(path.dirname(libc as string), soname));
  return [...new Set(libs)];
}
