import { access, readFile, writeFile } from 'node:fs/promises';
import { isENOENT, messageOf } from '../../../common/errors.js';
import type { InstallPolicy } from './apt.js';
import { ensurePackages, QEMU_PACKAGE } from './apt.js';
import { EngineHarnessError } from './errors.js';
import { runCommand } from './run.js';

const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';
const AARCH64_ENTRY = `${BINFMT_DIR}/qemu-aarch64`;
const AARCH64_CONF = '/usr/lib/binfmt.d/qemu-aarch64.conf';

/**
 * Makes arm64 binaries runnable here (and inside containers) through qemu-user-static. Without
 * systemd nobody registers the binfmt handler, so we do: mount binfmt_misc if needed, then write
 * the package's rule, whose `F` flag keeps the emulator usable inside container roots.
 */
export async function ensureQemuAarch64(policy: InstallPolicy): Promise<void> {
  if (await isEnabled()) return;
  const fail = (why: string, cause?: unknown) =>
    new EngineHarnessError('ARM64_UNAVAILABLE', `cannot run arm64 binaries: ${why}`, {
      cause,
      hint: 'as root: apt-get install qemu-user-static, then register /usr/lib/binfmt.d/qemu-aarch64.conf',
    });
  if (process.getuid?.() !== 0)
    throw fail('the qemu-aarch64 binfmt handler is not registered and we are not root');
  await ensurePackages([QEMU_PACKAGE], policy);
  try {
    await access(`${BINFMT_DIR}/register`);
  } catch (e) {
    if (!isENOENT(e)) throw e;
    await runCommand('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT_DIR]).catch((inner: unknown) => {
      throw fail(`mounting binfmt_misc failed: ${messageOf(inner)}`, inner);
    });
  }
  const rule = (await readFile(AARCH64_CONF, 'utf8'))
    .split('\n')
    .find((line) => line.trim() !== '' && !line.startsWith('#'));
  if (rule === undefined) throw fail(`${AARCH64_CONF} holds no rule`);
  try {
    await writeFile(`${BINFMT_DIR}/register`, rule);
  } catch (e) {
    // EEXIST: another run registered it between our check and the write.
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
      throw fail(`registering the rule failed: ${messageOf(e)}`, e);
  }
  if (!(await isEnabled())) throw fail(`${AARCH64_ENTRY} is not enabled after registering`);
}

async function isEnabled(): Promise<boolean> {
  try {
    return (await readFile(AARCH64_ENTRY, 'utf8')).startsWith('enabled');
  } catch (e) {
    if (isENOENT(e)) return false;
    throw e;
  }
}
