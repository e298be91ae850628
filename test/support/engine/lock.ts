import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isENOENT } from '../../../common/errors.js';
import { EngineHarnessError } from './errors.js';
import { delay, isAlive } from './processes.js';

/**
 * Runs `fn` holding a lock folder (mkdir is atomic), so two test runs sharing an engine don't both
 * start it or both build the same base image. A lock whose owner process is gone is taken over.
 */
export async function withLock<T>(
  lockDir: string,
  fn: () => Promise<T>,
  timeoutMs = 15 * 60_000,
): Promise<T> {
  await mkdir(path.dirname(lockDir), { recursive: true });
  const ownerFile = path.join(lockDir, 'owner');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(ownerFile, `${process.pid}\n`);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (await ownerGone(ownerFile)) {
      await rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new EngineHarnessError('WAIT_TIMEOUT', `lock ${lockDir} still held after ${timeoutMs} ms`, {
        hint: `remove ${lockDir} if no other test run is using the engine`,
      });
    }
    await delay(250);
  }
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

async function ownerGone(ownerFile: string): Promise<boolean> {
  try {
    const pid = Number((await readFile(ownerFile, 'utf8')).trim());
    return !Number.isInteger(pid) || pid <= 0 || !(await isAlive(pid));
  } catch (e) {
    // The owner file is written just after mkdir: missing means being created, unless it stays
    // missing (the owner died in between), which a lock folder older than 10 s tells.
    if (!isENOENT(e)) throw e;
    try {
      return Date.now() - (await stat(path.dirname(ownerFile))).mtimeMs > 10_000;
    } catch (inner) {
      if (isENOENT(inner)) return false;
      throw inner;
    }
  }
}
