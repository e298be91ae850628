import { describe, expect, it } from 'vitest';
import {
  coolOffMs,
  policyWantsRestart,
  type RestartInput,
  restartDecision,
  runtimeStatusOf,
} from '../../../agent/reconcile/restart.js';
import { NOW, TEST_SETTINGS } from '../../helpers/state.js';

const stats = (restartCount: number, lastRestartAt?: number) => ({
  restartCount,
  lastRestartAt,
  stoppedByAgent: false,
});

const exitedAt = (finishedAt: number, exitCode = 1): RestartInput['container'] => ({
  state: 'exited',
  exitCode,
  health: 'none',
  startedAt: finishedAt - 1_000,
  finishedAt,
});

describe('coolOffMs', () => {
  it.each([
    [0, 10_000],
    [1, 20_000],
    [2, 40_000],
    [4, 160_000],
    [5, 300_000],
    [30, 300_000],
  ])('after %i restarts waits %i ms (10 s · 2^n, at most 5 min)', (n, ms) => {
    expect(coolOffMs(n, TEST_SETTINGS)).toBe(ms);
  });
});

describe('runtimeStatusOf', () => {
  it.each([
    ['running', 0, 'none', 'running'],
    ['running', 0, 'healthy', 'running'],
    ['running', 0, 'unhealthy', 'unhealthy'],
    ['exited', 0, 'none', 'stopped'],
    ['exited', 78, 'none', 'failed'],
    ['dead', 0, 'none', 'failed'],
    ['created', 0, 'none', 'stopped'],
    ['restarting', 0, 'none', 'backoff'],
  ] as const)('%s (exit %i, health %s) is %s', (state, exitCode, health, status) => {
    expect(runtimeStatusOf({ state, exitCode, health })).toBe(status);
  });
});

describe('policyWantsRestart', () => {
  it.each([
    ['never', 'failed', false],
    ['on-failure', 'failed', true],
    ['on-failure', 'stopped', false],
    ['on-failure', 'unhealthy', false],
    ['on-unhealthy', 'unhealthy', true],
    ['on-unhealthy', 'failed', true],
    ['on-unhealthy', 'stopped', false],
    ['always', 'stopped', true],
    ['always', 'running', false],
  ] as const)('%s + %s → %s', (policy, status, expected) => {
    expect(policyWantsRestart(policy, status)).toBe(expected);
  });
});

describe('restartDecision', () => {
  it.each([
    // restarts so far, exited ms before now, expected
    [0, 10_001, 'restart'],
    [0, 9_000, 'backoff'],
    [1, 19_000, 'backoff'],
    [1, 20_000, 'restart'],
    [3, 79_000, 'backoff'],
    [3, 80_000, 'restart'],
    [10, 299_000, 'backoff'],
    [10, 300_000, 'restart'],
    [20, 3_600_000, 'failed'],
  ])('after %i restarts, exited %i ms ago → %s', (count, ago, kind) => {
    const decision = restartDecision(
      { policy: 'always', container: exitedAt(NOW - ago), stats: stats(count), now: NOW },
      TEST_SETTINGS,
    );
    expect(decision.kind).toBe(kind);
  });

  it.each([
    ['a last exit in the future (clock moved back)', NOW + 60_000],
    ['a last exit at exactly now', NOW],
  ])('restarts at once on %s', (_what, finishedAt) => {
    const decision = restartDecision(
      { policy: 'on-failure', container: exitedAt(finishedAt), stats: stats(4), now: NOW },
      TEST_SETTINGS,
    );
    expect(decision).toEqual({ kind: 'restart', reason: 'exited with code 1' });
  });

  it('says how long is left of the cool-off', () => {
    const decision = restartDecision(
      { policy: 'always', container: exitedAt(NOW - 15_000), stats: stats(1), now: NOW },
      TEST_SETTINGS,
    );
    expect(decision).toEqual({ kind: 'backoff', reason: 'exited with code 1', retryInMs: 5_000 });
  });

  it('measures an unhealthy container from its last restart', () => {
    const container = {
      state: 'running',
      exitCode: 0,
      health: 'unhealthy',
      startedAt: NOW - 5_000,
      finishedAt: undefined,
    } as const;
    const input = { policy: 'on-unhealthy', container, now: NOW } as const;
    expect(restartDecision({ ...input, stats: stats(0, NOW - 5_000) }, TEST_SETTINGS).kind).toBe('backoff');
    expect(restartDecision({ ...input, stats: stats(0, NOW - 10_000) }, TEST_SETTINGS)).toEqual({
      kind: 'restart',
      reason: 'container is unhealthy (Docker HEALTHCHECK)',
    });
  });

  it.each([
    [9 * 60_000, 3, 'none'],
    [10 * 60_000, 3, 'clearStats'],
    [10 * 60_000, 0, 'none'],
  ])('a module running for %i ms with %i restarts → %s', (runningFor, count, kind) => {
    const container = {
      state: 'running',
      exitCode: 0,
      health: 'none',
      startedAt: NOW - runningFor,
      finishedAt: undefined,
    } as const;
    expect(
      restartDecision({ policy: 'always', container, stats: stats(count), now: NOW }, TEST_SETTINGS).kind,
    ).toBe(kind);
  });

  it('does nothing for a policy that does not cover the state', () => {
    const decision = restartDecision(
      { policy: 'on-failure', container: exitedAt(NOW - 60_000, 0), stats: stats(0), now: NOW },
      TEST_SETTINGS,
    );
    expect(decision).toEqual({ kind: 'none' });
  });
});
