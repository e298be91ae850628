/**
 * Restart policies, enforced by the agent (Docker's own restart policy is always `no`, and stock
 * Docker never restarts an unhealthy container). Shaped after IoT Edge's RestartPolicyManager:
 * cool-off = min(unit·2^n, max), elapsed ≤ 0 (clock skew) ⇒ restart now, stats cleared after a
 * stable period. Pure: the caller passes `now`.
 */
import type { RestartPolicy } from '../../manifests/index.js';
import type { CurrentContainer, ModuleStats, PlanSettings } from './types.js';

/** edgeAgent's module runtime statuses. */
export type RuntimeStatus = 'running' | 'unhealthy' | 'stopped' | 'failed' | 'backoff' | 'unknown';

/** What Docker's state means, before any restart decision. */
export function runtimeStatusOf(c: Pick<CurrentContainer, 'state' | 'exitCode' | 'health'>): RuntimeStatus {
  switch (c.state) {
    case 'running':
      return c.health === 'unhealthy' ? 'unhealthy' : 'running';
    case 'exited':
      return c.exitCode === 0 ? 'stopped' : 'failed';
    case 'dead':
      return 'failed';
    case 'created':
    case 'paused':
      return 'stopped';
    case 'restarting':
      return 'backoff';
    case 'removing':
      return 'unknown';
  }
}

export function coolOffMs(
  restartCount: number,
  settings: Pick<PlanSettings, 'coolOffUnitMs' | 'maxCoolOffMs'>,
) {
  return Math.min(settings.coolOffUnitMs * 2 ** restartCount, settings.maxCoolOffMs);
}

/**
 * Does the policy ask for a restart of a module in this state? Policies nest as in IoT Edge:
 * on-failure ⊂ on-unhealthy ⊂ always.
 */
export function policyWantsRestart(policy: RestartPolicy, status: RuntimeStatus): boolean {
  switch (policy) {
    case 'never':
      return false;
    case 'on-failure':
      return status === 'failed';
    case 'on-unhealthy':
      return status === 'failed' || status === 'unhealthy';
    case 'always':
      return status === 'failed' || status === 'unhealthy' || status === 'stopped';
  }
}

export type RestartDecision =
  | { kind: 'none' }
  | { kind: 'restart'; reason: string }
  | { kind: 'backoff'; reason: string; retryInMs: number }
  | { kind: 'failed'; reason: string }
  | { kind: 'clearStats' };

export interface RestartInput {
  policy: RestartPolicy;
  container: Pick<CurrentContainer, 'state' | 'exitCode' | 'health' | 'startedAt' | 'finishedAt'>;
  stats: ModuleStats;
  now: number;
}

/** Why a module needs a restart, for the log and reported statusDescription. */
export function restartReason(c: RestartInput['container']): string {
  const status = runtimeStatusOf(c);
  if (status === 'unhealthy') return 'container is unhealthy (Docker HEALTHCHECK)';
  if (c.state === 'dead') return 'container is dead';
  return `exited with code ${c.exitCode}`;
}

/**
 * The restart decision for a module whose desired status is `running` and whose container exists and
 * has been started before. A container the agent stopped itself is not a crash: the caller starts it.
 */
export function restartDecision(input: RestartInput, settings: PlanSettings): RestartDecision {
  const { container: c, stats, now, policy } = input;
  const status = runtimeStatusOf(c);
  if (status === 'running') {
    const started = c.startedAt;
    const stable = started !== undefined && now - started >= settings.stableResetMs;
    return stable && stats.restartCount > 0 ? { kind: 'clearStats' } : { kind: 'none' };
  }
  if (status === 'backoff' || status === 'unknown' || !policyWantsRestart(policy, status))
    return { kind: 'none' };
  const reason = restartReason(c);
  if (stats.restartCount >= settings.maxRestarts) {
    return { kind: 'failed', reason: `${reason}; gave up after ${stats.restartCount} restarts` };
  }
  // Measured from the exit (or, for an unhealthy container still running, from its last (re)start).
  const since =
    status === 'unhealthy' ? (stats.lastRestartAt ?? c.startedAt) : (c.finishedAt ?? stats.lastRestartAt);
  const coolOff = coolOffMs(stats.restartCount, settings);
  const elapsed = since === undefined ? Number.POSITIVE_INFINITY : now - since;
  // A last exit in the future means the clock moved back: restart rather than wait an unknown time.
  if (elapsed <= 0 || elapsed >= coolOff) return { kind: 'restart', reason };
  return { kind: 'backoff', reason, retryInMs: coolOff - elapsed };
}
