import { describe, expect, it } from 'vitest';
import { plan } from '../../../agent/reconcile/plan.js';
import { specHash } from '../../../agent/reconcile/spec.js';
import {
  container,
  ctx,
  current,
  desired,
  exited,
  expectSteps,
  ids,
  mod,
  NOW,
  short,
} from '../../helpers/state.js';

const hash = (m: ReturnType<typeof mod>) => short(specHash(m));

describe('plan: adding modules', () => {
  it('plans nothing when nothing is desired or running', () => {
    expect(plan([], [], ctx())).toEqual([]);
  });

  it('pulls the image of a new module first and plans nothing else in that pass', () => {
    const a = mod('a');
    const gone = mod('gone');
    const steps = plan(desired(a), current(container(gone)), ctx());
    expect(ids(steps)).toEqual(['pull:registry.test/a:1']);
    expect(expectSteps(steps, 'pull')[0]?.modules).toEqual(['a']);
  });

  it('creates and starts a new module once its image is pulled', () => {
    const a = mod('a');
    const steps = plan(desired(a), [], ctx({ pulledFor: [a] }));
    expect(ids(steps)).toEqual([`create:a:${hash(a)}`, 'start:a']);
    expect(expectSteps(steps, 'create')[0]?.reason).toBe('new module');
    expect(expectSteps(steps, 'start')[0]?.container).toBe('a');
  });

  it('creates a module whose desired status is stopped, without starting it', () => {
    const a = mod('a', { status: 'stopped' });
    expect(ids(plan(desired(a), [], ctx({ pulledFor: [a] })))).toEqual([`create:a:${hash(a)}`]);
  });

  it('pulls an image once for all the modules that use it', () => {
    const a = mod('a', { image: 'shared:1' });
    const b = mod('b', { image: 'shared:1' });
    const steps = plan(desired(a, b), [], ctx());
    expect(ids(steps)).toEqual(['pull:shared:1']);
    expect(expectSteps(steps, 'pull')[0]?.modules).toEqual(['a', 'b']);
  });

  it('does not pull with imagePullPolicy never when the image is on the device', () => {
    const a = mod('a', { imagePullPolicy: 'never' });
    expect(ids(plan(desired(a), [], ctx({ images: [a.image] })))).toEqual([`create:a:${hash(a)}`, 'start:a']);
  });

  it('reports a missing image under imagePullPolicy never as blocking, and still plans the other modules', () => {
    const a = mod('a', { imagePullPolicy: 'never' });
    const b = mod('b');
    const steps = plan(desired(a, b), [], ctx({ pulledFor: [b] }));
    expect(ids(steps)).toEqual(['noop:image-missing:a', `create:b:${hash(b)}`, 'start:b']);
    expect(expectSteps(steps, 'noop')[0]?.detail).toMatch(/not on this device.*imagePullPolicy never/);
  });
});

describe('plan: unchanged, recreated and removed modules', () => {
  it('leaves a running, up-to-date module alone', () => {
    const a = mod('a');
    expect(plan(desired(a), current(container(a)), ctx())).toEqual([]);
  });

  it.each([
    ['image', { image: 'registry.test/a:2' }, 'image registry.test/a:1 → registry.test/a:2'],
    ['env', { env: { LEVEL: 'debug' } }, 'env changed'],
    ['createOptions', { createOptions: { HostConfig: { Memory: 1e8 } } }, 'createOptions changed'],
    ['version', { version: '1.1' }, 'version 1.0 → 1.1'],
    ['provider binds', { binds: ['/etc/hub:/hub:ro'] }, 'createOptions changed'],
  ])('recreates a module whose %s changed, and says why', (_what, change, reason) => {
    const old = mod('a');
    const next = mod('a', change);
    const c = container(next, {}, old);
    const steps = plan(desired(next), current(c), ctx({ pulledFor: [next] }));
    expect(ids(steps)).toEqual([
      `stop:a:${short(c.id)}`,
      `remove:a:${short(c.id)}`,
      `create:a:${hash(next)}`,
      'start:a',
    ]);
    expect(expectSteps(steps, 'create')[0]?.reason).toBe(reason);
    expect(expectSteps(steps, 'stop')[0]?.reason).toBe(`recreate: ${reason}`);
  });

  it('pulls the new image before stopping anything when a module is updated', () => {
    const old = mod('a');
    const next = mod('a', { image: 'registry.test/a:2' });
    expect(ids(plan(desired(next), current(container(next, {}, old)), ctx()))).toEqual([
      'pull:registry.test/a:2',
    ]);
  });

  it('recreates a container without a spec label (not labelled by this version of the agent)', () => {
    const a = mod('a');
    const c = container(a, { specHash: undefined, specParts: undefined });
    const steps = plan(desired(a), current(c), ctx({ pulledFor: [a] }));
    expect(expectSteps(steps, 'create')[0]?.reason).toBe('container spec unknown (no spec label)');
  });

  it('recreates a stopped module without starting it', () => {
    const old = mod('a', { status: 'stopped' });
    const next = mod('a', { status: 'stopped', env: { X: '1' } });
    const c = container(next, { state: 'exited', exitCode: 143 }, old);
    const steps = plan(desired(next), current(c), ctx({ pulledFor: [next] }));
    expect(ids(steps)).toEqual([`remove:a:${short(c.id)}`, `create:a:${hash(next)}`]);
  });

  it('stops and removes a running module that is no longer desired, and removes an exited one', () => {
    const a = mod('a');
    const running = container(mod('gone'));
    const stopped = exited(mod('old'), 0, 1000);
    const steps = plan(desired(a), current(container(a), running, stopped), ctx());
    expect(ids(steps)).toEqual([
      `stop:gone:${short(running.id)}`,
      `remove:gone:${short(running.id)}`,
      `remove:old:${short(stopped.id)}`,
    ]);
    expect(expectSteps(steps, 'remove', 2)[0]?.reason).toBe('module removed from the deployment');
  });

  it('removes duplicate containers of a module and keeps the up-to-date running one', () => {
    const a = mod('a');
    const keep = container(a);
    const stale = container(a, { state: 'exited', createdAt: NOW - 10 }, mod('a', { version: '0.9' }));
    const steps = plan(desired(a), current(stale, keep), ctx());
    expect(ids(steps)).toEqual([`remove:a:${short(stale.id)}`]);
    expect(expectSteps(steps, 'remove')[0]?.reason).toBe('duplicate container');
  });
});

describe('plan: desired status', () => {
  it('stops a running module whose desired status is stopped', () => {
    const a = mod('a', { status: 'stopped' });
    const c = container(a);
    const steps = plan(desired(a), current(c), ctx());
    expect(ids(steps)).toEqual([`stop:a:${short(c.id)}`]);
    expect(expectSteps(steps, 'stop')[0]?.reason).toBe('desired status is stopped');
  });

  it('keeps a stopped module stopped whatever its restart policy', () => {
    const a = mod('a', { status: 'stopped', restartPolicy: 'always' });
    expect(plan(desired(a), current(exited(a, 137, 5_000)), ctx())).toEqual([]);
  });

  it('starts a module the agent stopped once its desired status is running again', () => {
    const a = mod('a', { restartPolicy: 'never' });
    const c = exited(a, 143, 5_000);
    const steps = plan(desired(a), current(c), ctx({ moduleStats: { a: { stoppedByAgent: true } } }));
    expect(ids(steps)).toEqual(['start:a']);
    expect(expectSteps(steps, 'start')[0]?.container).toBe(c.id);
  });

  it('starts a container that was created but never started (e.g. the agent was killed in between)', () => {
    const a = mod('a');
    expect(
      ids(plan(desired(a), current(container(a, { state: 'created', startedAt: undefined })), ctx())),
    ).toEqual(['start:a']);
  });
});

describe('plan: restart policies', () => {
  it.each([
    ['always', 0, true],
    ['always', 1, true],
    ['on-failure', 1, true],
    ['on-failure', 0, false],
    ['on-unhealthy', 2, true],
    ['on-unhealthy', 0, false],
    ['never', 1, false],
    ['never', 0, false],
  ] as const)('restartPolicy %s, exit code %i → restart: %s', (policy, code, restarts) => {
    const a = mod('a', { restartPolicy: policy });
    const steps = plan(desired(a), current(exited(a, code, 60_000)), ctx());
    expect(ids(steps)).toEqual(restarts ? ['restart:a'] : []);
    if (restarts) expect(expectSteps(steps, 'restart')[0]?.reason).toBe(`exited with code ${code}`);
  });

  it.each([
    ['on-unhealthy', true],
    ['always', true],
    ['on-failure', false],
    ['never', false],
  ] as const)('restartPolicy %s restarts an unhealthy running container: %s', (policy, restarts) => {
    const a = mod('a', { restartPolicy: policy });
    const c = container(a, { health: 'unhealthy', startedAt: NOW - 60_000 });
    expect(ids(plan(desired(a), current(c), ctx()))).toEqual(restarts ? ['restart:a'] : []);
  });

  it('waits out the cool-off, saying how long', () => {
    const a = mod('a');
    const steps = plan(
      desired(a),
      current(exited(a, 1, 15_000)),
      ctx({ moduleStats: { a: { restartCount: 1 } } }),
    );
    expect(ids(steps)).toEqual(['noop:backoff:a']);
    expect(expectSteps(steps, 'noop')[0]?.retryInMs).toBe(5_000);
  });

  it('leaves a module failed after the maximum number of restarts', () => {
    const a = mod('a');
    const steps = plan(
      desired(a),
      current(exited(a, 1, 600_000)),
      ctx({ moduleStats: { a: { restartCount: 20 } } }),
    );
    expect(ids(steps)).toEqual(['noop:restart-limit:a']);
    expect(expectSteps(steps, 'noop')[0]?.detail).toMatch(/gave up after 20 restarts/);
  });

  it('clears the restart stats of a module that has run stably', () => {
    const a = mod('a');
    const c = container(a, { startedAt: NOW - 11 * 60_000 });
    expect(ids(plan(desired(a), current(c), ctx({ moduleStats: { a: { restartCount: 3 } } })))).toEqual([
      'clearStats:a',
    ]);
  });
});

describe('plan: startupOrder', () => {
  const first = mod('db', { startupOrder: 0 });
  const second = mod('api', { startupOrder: 1 });
  const third = mod('ui', { startupOrder: 2 });

  it('starts the lowest group first and makes the next one wait', () => {
    const steps = plan(desired(third, second, first), [], ctx({ pulledFor: [first, second, third] }));
    expect(ids(steps)).toEqual([
      `create:db:${hash(first)}`,
      'start:db',
      'noop:startup-order:api',
      'noop:startup-order:ui',
    ]);
    expect(expectSteps(steps, 'noop', 2)[0]?.detail).toBe("waiting for 'db' (lower startupOrder) to start");
  });

  it('starts the next group once the lower one has been started', () => {
    const steps = plan(
      desired(first, second, third),
      current(container(first)),
      ctx({ pulledFor: [second, third] }),
    );
    expect(ids(steps)).toEqual([`create:api:${hash(second)}`, 'start:api', 'noop:startup-order:ui']);
  });

  it('does not hold later groups behind a lower module that crashes (an attempt was made)', () => {
    const steps = plan(
      desired(first, second),
      current(exited(first, 1, 1_000)),
      ctx({ pulledFor: [second], moduleStats: { db: { restartCount: 2 } } }),
    );
    expect(ids(steps)).toEqual(['noop:backoff:db', `create:api:${hash(second)}`, 'start:api']);
  });

  it('does not hold later groups behind a lower module whose start failed', () => {
    const steps = plan(
      desired(first, second),
      current(container(first, { state: 'created', startedAt: undefined })),
      ctx({
        pulledFor: [second],
        stepStats: { 'start:db': { failures: 1, lastFailureAt: NOW - 100, lastError: 'port in use' } },
      }),
    );
    expect(ids(steps)).toEqual(['noop:retry-wait:start:db', `create:api:${hash(second)}`, 'start:api']);
  });

  it('keeps a higher module on its old version until the lower groups have started', () => {
    const oldApi = mod('api', { startupOrder: 1, version: '0.9' });
    const steps = plan(
      desired(first, second),
      current(container(second, {}, oldApi)),
      ctx({ pulledFor: [first, second] }),
    );
    expect(ids(steps)).toEqual([`create:db:${hash(first)}`, 'start:db', 'noop:startup-order:api']);
  });
});

describe('plan: failed steps', () => {
  const a = mod('a');

  it('waits before retrying a step that failed, then retries it', () => {
    const id = `create:a:${hash(a)}`;
    const stats = { [id]: { failures: 2, lastFailureAt: NOW - 1_000, lastError: 'no space left' } };
    const waiting = plan(desired(a), [], ctx({ pulledFor: [a], stepStats: stats }));
    expect(ids(waiting)).toEqual([`noop:retry-wait:${id}`]);
    expect(expectSteps(waiting, 'noop')[0]?.retryInMs).toBe(1_000);
    const later = plan(desired(a), [], ctx({ pulledFor: [a], stepStats: stats, now: NOW + 1_000 }));
    expect(ids(later)).toEqual([id, 'start:a']);
  });

  it('gives up a step after the maximum number of attempts', () => {
    const id = `create:a:${hash(a)}`;
    const stats = { [id]: { failures: 5, lastFailureAt: NOW - 60_000, lastError: 'no space left' } };
    const steps = plan(desired(a), [], ctx({ pulledFor: [a], stepStats: stats }));
    expect(ids(steps)).toEqual([`noop:gave-up:${id}`]);
    expect(expectSteps(steps, 'noop')[0]?.detail).toBe(`${id} failed 5 times: no space left`);
  });

  it('holds everything while a failed pull waits for its retry', () => {
    const next = mod('a', { image: 'registry.test/a:2' });
    const gone = container(mod('gone'));
    const stats = {
      'pull:registry.test/a:2': { failures: 1, lastFailureAt: NOW - 10, lastError: 'timeout' },
    };
    const steps = plan(desired(next), current(container(next, {}, a), gone), ctx({ stepStats: stats }));
    expect(ids(steps)).toEqual(['noop:retry-wait:pull:registry.test/a:2']);
  });

  it('after a pull is given up, blocks only the modules that need that image', () => {
    const next = mod('a', { image: 'registry.test/a:2' });
    const b = mod('b');
    const old = container(next, {}, a);
    const stats = {
      'pull:registry.test/a:2': { failures: 5, lastFailureAt: NOW - 10, lastError: 'manifest unknown' },
    };
    const steps = plan(desired(next, b), current(old), ctx({ stepStats: stats, pulledFor: [b] }));
    expect(ids(steps)).toEqual(['noop:gave-up:pull:registry.test/a:2', `create:b:${hash(b)}`, 'start:b']);
  });
});
