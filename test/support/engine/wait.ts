import { messageOf } from '../../../common/errors.js';
import { EngineHarnessError } from './errors.js';
import { delay } from './processes.js';

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /**
   * Checked before each probe; a returned error ends the wait at once (e.g. the daemon exited),
   * so a dead process is reported with its reason instead of as a timeout.
   */
  abort?: () => Error | undefined | Promise<Error | undefined>;
}

/**
 * Polls `probe` until it returns a value. A throwing probe counts as "not yet"; its last message
 * goes into the WAIT_TIMEOUT error so the reason is never lost.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastProblem = 'no answer yet';
  for (;;) {
    const aborted = await options.abort?.();
    if (aborted) throw aborted;
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      lastProblem = messageOf(e);
    }
    if (Date.now() >= deadline) {
      throw new EngineHarnessError(
        'WAIT_TIMEOUT',
        `${what} not ready after ${options.timeoutMs} ms: ${lastProblem}`,
      );
    }
    await delay(options.intervalMs ?? 100);
  }
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/**
 * Waits until `url` answers with a status accepted by `accept` (default 2xx) and returns the answer.
 * Each attempt has its own 2 s timeout, so a hung server ends as WAIT_TIMEOUT, not a hung test;
 * `abort` (e.g. "the container exited") ends the wait early with its error.
 */
export async function waitForHttp(
  url: string,
  timeoutMs: number,
  accept: (status: number) => boolean = (status) => status >= 200 && status < 300,
  abort?: WaitOptions['abort'],
): Promise<HttpAnswer> {
  return waitUntil(
    `HTTP ${url}`,
    async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      const body = await res.text();
      if (!accept(res.status)) throw new Error(`answered ${res.status}: ${body.slice(0, 200)}`);
      return { status: res.status, body };
    },
    { timeoutMs, intervalMs: 200, abort },
  );
}
