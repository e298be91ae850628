import { execFileSync } from 'node:child_process';

/** A Python 3 with `requests` (the guide's client library): the one on PATH, else Debian's. */
export function pythonWithRequests(): string {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(candidate, ['-c', 'import requests'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next interpreter
    }
  }
  throw new Error('no python3 with the requests module: install Debian python3-requests (.ci/run does)');
}
