import { readFile } from 'node:fs/promises';
import { UnavailableError } from '../../common/errors.js';

/**
 * Linux reports process CPU time in clock ticks of USER_HZ, which is 100 on every architecture Linux
 * runs on (it is fixed for user space, whatever the kernel's internal HZ).
 */
const TICKS_PER_SECOND = 100;

export interface ProcSnapshot {
  /** User + system CPU time of the process (all its threads), in seconds. */
  cpuSeconds: number;
  /** Resident set size now. */
  rssBytes: number;
  /** Peak resident set size since the process started (VmHWM). */
  peakRssBytes: number;
}

/** Parses /proc/<pid>/stat (utime, stime) and /proc/<pid>/status (VmRSS, VmHWM). Pure, for unit tests. */
export function parseProc(statText: string, statusText: string): ProcSnapshot {
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
  const afterName = statText.slice(statText.lastIndexOf(')') + 2).split(' ');
  // After the name: state is field 3, so utime (field 14) and stime (15) sit at indexes 11 and 12.
  const utime = Number(afterName[11]);
  const stime = Number(afterName[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime))
    throw new Error('unexpected /proc/<pid>/stat layout');
  const kb = (key: string) => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(statusText);
    return match ? Number(match[1]) * 1024 : 0;
  };
  return { cpuSeconds: (utime + stime) / TICKS_PER_SECOND, rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

export async function readProc(pid: number): Promise<ProcSnapshot> {
  try {
    const [statText, statusText] = await Promise.all([
      readFile(`/proc/${pid}/stat`, 'utf8'),
      readFile(`/proc/${pid}/status`, 'utf8'),
    ]);
    return parseProc(statText, statusText);
  } catch (e) {
    throw new UnavailableError(
      'SERVER_GONE',
      `cannot read the server process's figures (pid ${pid}): ${(e as Error).message}`,
      {
        hint: 'the server may have exited; run `modelport serve` with the same model to see why',
        cause: e,
      },
    );
  }
}
