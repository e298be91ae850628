/**
 * `modelport watch` without `--once`: a cycle whenever something changed — another process committed
 * to the registry (`PRAGMA data_version`), the spec file changed, or the target did (a manifest file
 * edited or deleted) — checked every interval. A failed cycle is retried with exponential back-off
 * (capped) until it succeeds, whatever changed meanwhile; an AbortSignal stops the loop between cycles.
 */
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { isENOENT } from '../../common/errors.js';
import { retryDelayMs } from './naming.js';
import { type CycleDeps, type CycleOutcome, RolloutStepError, runCycle } from './rollout.js';

export interface RetrySettings {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetrySettings = { baseMs: 2_000, maxMs: 300_000 };

export interface WatchSummary {
  cycles: number;
  rollouts: number;
  failures: number;
  last: CycleOutcome | undefined;
}

async function fileToken(path: string): Promise<string> {
  try {
    const info = await stat(path);
    return `${info.mtimeMs}:${info.size}`;
  } catch (e) {
    if (isENOENT(e)) return 'missing';
    throw e;
  }
}

export async function watchLoop(
  deps: CycleDeps,
  settings: { intervalMs: number; retry?: RetrySettings },
  signal: AbortSignal,
): Promise<WatchSummary> {
  const retry = settings.retry ?? DEFAULT_RETRY;
  const token = async () =>
    [deps.state.dataVersion(), await fileToken(deps.specPath), await deps.target.changeToken()].join('|');
  const summary: WatchSummary = { cycles: 0, rollouts: 0, failures: 0, last: undefined };
  let seen: string | undefined;
  let failures = 0;
  while (!signal.aborted) {
    let wait = settings.intervalMs;
    try {
      const now = await token();
      if (failures > 0 || now !== seen) {
        summary.cycles++;
        summary.last = await runCycle(deps);
        if (summary.last.outcome === 'deployed') summary.rollouts++;
        failures = 0;
        // The token from BEFORE the cycle: a version registered (or a spec saved) while the cycle ran
        // — during a slow package step — is a change the next poll reacts to. The cycle's own writes
        // (rollout record, manifest file) cost one more cycle, which ends `unchanged`.
        seen = now;
      }
    } catch (e) {
      if (signal.aborted) break;
      failures++;
      summary.failures++;
      if (!(e instanceof RolloutStepError)) deps.events.stepFailed(undefined, e);
      wait = retryDelayMs(failures, retry.baseMs, retry.maxMs);
      deps.events.retryScheduled(failures, wait);
    }
    await sleep(wait, undefined, { signal }).catch(() => undefined);
  }
  deps.events.stopped(summary.rollouts);
  return summary;
}
