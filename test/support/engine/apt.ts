import { EngineHarnessError } from './errors.js';
import { findExecutable, runCommand } from './run.js';

/** A Debian package the harness needs and the executable that proves it is installed. */
export interface PackageNeed {
  pkg: string;
  executable: string;
}

export const ENGINE_PACKAGES: readonly PackageNeed[] = [
  { pkg: 'docker.io', executable: 'dockerd' },
  { pkg: 'docker-registry', executable: 'docker-registry' },
];
export const BUSYBOX_PACKAGE: PackageNeed = { pkg: 'busybox-static', executable: 'busybox' };
export const QEMU_PACKAGE: PackageNeed = { pkg: 'qemu-user-static', executable: 'qemu-aarch64-static' };

export interface InstallPolicy {
  /** False when the user opted out (MODELPORT_ENGINE_INSTALL=0). */
  allowInstall: boolean;
}

const APT_LOCK_WAIT = ['-o', 'DPkg::Lock::Timeout=300'];

/**
 * Makes sure each package's executable is there, installing the missing packages with apt-get when
 * we are root and allowed to. Otherwise fails with ENGINE_PACKAGE_MISSING saying what to install.
 */
export async function ensurePackages(needs: readonly PackageNeed[], policy: InstallPolicy): Promise<void> {
  const missing: PackageNeed[] = [];
  for (const need of needs) {
    if ((await findExecutable(need.executable)) === undefined) missing.push(need);
  }
  if (missing.length === 0) return;
  const pkgs = missing.map((m) => m.pkg);
  const why = `missing ${missing.map((m) => `${m.executable} (Debian package ${m.pkg})`).join(', ')}`;
  const hint = `run scripts/engine/install-deps.sh as root, or: apt-get install -y ${pkgs.join(' ')}`;
  if (!policy.allowInstall) {
    throw new EngineHarnessError(
      'ENGINE_PACKAGE_MISSING',
      `${why}; installing is disabled (MODELPORT_ENGINE_INSTALL=0)`,
      {
        hint,
      },
    );
  }
  if (process.getuid?.() !== 0 || (await findExecutable('apt-get')) === undefined) {
    throw new EngineHarnessError(
      'ENGINE_PACKAGE_MISSING',
      `${why}; cannot install them: not root with apt-get`,
      {
        hint,
      },
    );
  }
  await aptInstall(pkgs);
  for (const need of missing) {
    if ((await findExecutable(need.executable)) === undefined) {
      throw new EngineHarnessError(
        'ENGINE_PACKAGE_MISSING',
        `installed ${need.pkg} but ${need.executable} is still not found`,
        { hint },
      );
    }
  }
}

/** apt-get install, refreshing the package lists once if the first attempt fails (fresh machines). */
export async function aptInstall(pkgs: readonly string[]): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const args = ['install', '-y', '-q', '--no-install-recommends', ...APT_LOCK_WAIT, ...pkgs];
  try {
    await runCommand('apt-get', args, { env });
  } catch {
    // Most often stale or empty package lists; update and let a second failure surface.
    await aptUpdate();
    await runCommand('apt-get', args, { env });
  }
}

export async function aptUpdate(): Promise<void> {
  await runCommand('apt-get', ['update', '-q', ...APT_LOCK_WAIT], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}
