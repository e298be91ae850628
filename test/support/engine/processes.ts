import { spawn } from 'node:child_process';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { isENOENT } from '../../../common/errors.js';

/** How a daemon we started ended, if it ended while we were watching. */
export interface DaemonExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (e.g. ENOENT, EACCES). */
  spawnError?: Error;
}

export interface SpawnedDaemon {
  pid: number;
  logFile: string;
  /** Settles when the process exits or fails to spawn; never rejects. */
  exited: Promise<DaemonExit>;
}

/**
 * Starts a long-running process detached from our process group, stdout and stderr appended to
 * `logFile`, so it survives the starter (the dev engine) and a Ctrl-C reaches it only via teardown.
 */
export async function spawnDaemon(
  cmd: string,
  args: readonly string[],
  options: { logFile: string; cwd?: string; env?: NodeJS.ProcessEnv },
): Promise<SpawnedDaemon> {
  const log = await open(options.logFile, 'a');
  try {
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
    });
    const exited = new Promise<DaemonExit>((resolve) => {
      child.once('error', (spawnError) => resolve({ code: null, signal: null, spawnError }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    child.unref();
    if (child.pid === undefined) {
      const exit = await exited;
      throw exit.spawnError ?? new Error(`${cmd} did not start`);
    }
    return { pid: child.pid, logFile: options.logFile, exited };
  } finally {
    // The child holds its own copy of the descriptor.
    await log.close();
  }
}

/** True while the process exists and is not a zombie (orphans may never be reaped here). */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM means it exists but belongs to someone else: still alive.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const statLine = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = statLine.slice(statLine.lastIndexOf(')') + 2, statLine.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch (e) {
    if (isGone(e)) return false;
    throw e;
  }
}

/** True when `pid` is alive and its command line contains `needle` (guards against pid reuse). */
export async function processMatches(pid: number, needle: string): Promise<boolean> {
  if (!(await isAlive(pid))) return false;
  try {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
    return cmdline.includes(needle);
  } catch (e) {
    if (isGone(e)) return false;
    throw e;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(pid: number, graceMs = 20_000): Promise<void> {
  if (!(await isAlive(pid))) return;
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!(await isAlive(pid))) return;
    await delay(100);
  }
  signal(pid, 'SIGKILL');
  const killDeadline = Date.now() + 5_000;
  while (Date.now() < killDeadline) {
    if (!(await isAlive(pid))) return;
    await delay(100);
  }
  throw new Error(`process ${pid} did not exit after SIGKILL`);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    // ESRCH: it exited between the check and the signal, which is what we want.
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

/** The last `lines` lines of a log file (reads at most the final 64 KiB), or a note that it is missing. */
export async function tailFile(file: string, lines = 30): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    const { size } = await stat(file);
    const length = Math.min(size, 64 * 1024);
    handle = await open(file, 'r');
    const buf = Buffer.alloc(length);
    await handle.read(buf, 0, length, size - length);
    return buf.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch (e) {
    if (isENOENT(e)) return `(no log at ${file})`;
    throw e;
  } finally {
    await handle?.close();
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Stops every process whose command line contains `needle` (e.g. a daemon folder); returns how many. */
export async function stopMatching(needle: string, graceMs = 10_000): Promise<number> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const matching: number[] = [];
  for (const pid of pids) {
    if (pid !== process.pid && (await processMatches(pid, needle))) matching.push(pid);
  }
  await Promise.all(matching.map((pid) => stopProcess(pid, graceMs)));
  return matching.length;
}

/** /proc entries of a process that just exited vanish (ENOENT) or refuse reads (ESRCH). */
function isGone(e: unknown): boolean {
  return isENOENT(e) || (e as NodeJS.ErrnoException).code === 'ESRCH';
}
