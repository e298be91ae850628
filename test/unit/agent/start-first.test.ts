import { describe, expect, it } from 'vitest';
import { plan } from '../../../agent/reconcile/plan.js';
import { specHash, specParts } from '../../../agent/reconcile/spec.js';
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_READY_TIMEOUT_MS,
  proxiedContainerName,
  startFirstOf,
} from '../../../agent/reconcile/start-first.js';
import { BLOCKING_NOOPS, type DesiredModule } from '../../../agent/reconcile/types.js';
import { proxiedCreateBody } from '../../../agent/runtime/container-spec.js';
import { container, ctx, current, desired, expectSteps, ids, mod, NOW, short } from '../../helpers/state.js';

const PORT = 5001;

/** A start-first HTTP module on the host network, image version `v`. */
function web(v: number, overrides: Partial<Omit<DesiredModule, 'name'>> = {}): DesiredModule {
  return mod('web', {
    image: `registry.test/web:${v}`,
    env: { MODELPORT_PORT: String(PORT) },
    createOptions: { Labels: { 'modelport.update': 'start-first' }, HostConfig: { NetworkMode: 'host' } },
    ...overrides,
  });
}

const h = (m: DesiredModule) => short(specHash(m));
/** A container of `spec` behind the proxy on port 40000+n. */
const behind = (spec: DesiredModule, n: number, extra: Parameters<typeof container>[1] = {}) =>
  container(spec, { internalPort: 40_000 + n, ...extra });

describe('startFirstOf: which modules are updated start-first', () => {
  it('takes the label, the public port from MODELPORT_PORT and the ready path (default /ready)', () => {
    expect(startFirstOf(web(1))).toEqual({ publicPort: PORT, readyPath: '/ready' });
    const custom = web(1, {
      createOptions: {
        Labels: { 'modelport.update': 'start-first', 'modelport.update.ready-path': '/healthz' },
      },
    });
    expect(startFirstOf(custom)?.readyPath).toBe('/healthz');
  });

  it.each([
    ['no label', mod('web', { env: { MODELPORT_PORT: '5001' } })],
    [
      'another strategy',
      mod('web', {
        env: { MODELPORT_PORT: '5001' },
        createOptions: { Labels: { 'modelport.update': 'recreate' } },
      }),
    ],
    ['no public port', web(1, { env: {} })],
    ['a port out of range', web(1, { env: { MODELPORT_PORT: '70000' } })],
  ])('is off with %s (the module is stopped, then started)', (_why, m) => {
    expect(startFirstOf(m)).toBeUndefined();
  });
});

describe('plan: start-first module, first deployment', () => {
  it('pulls first, then creates the container on its own port, starts it, awaits ready and routes to it', () => {
    const m = web(1);
    expect(ids(plan(desired(m), [], ctx()))).toEqual(['pull:registry.test/web:1']);
    const steps = plan(desired(m), [], ctx({ pulledFor: [m] }));
    expect(ids(steps)).toEqual([
      `createBehindProxy:web:${h(m)}`,
      'start:web',
      `awaitReady:web:${h(m)}`,
      `route:web:${h(m)}`,
    ]);
    const [create] = expectSteps(steps, 'createBehindProxy');
    expect(create?.name).toBe(proxiedContainerName('web', specHash(m)));
    // On the host network the container's own port stays on loopback: the proxy is the way in.
    expect(create?.env).toEqual({ MODELPORT_HOST: '127.0.0.1' });
    expect(expectSteps(steps, 'start')[0]?.container).toBe(create?.name);
    expect(expectSteps(steps, 'awaitReady')[0]).toMatchObject({
      container: create?.name,
      path: '/ready',
      timeoutMs: DEFAULT_READY_TIMEOUT_MS,
    });
    expect(expectSteps(steps, 'route')[0]).toMatchObject({ container: create?.name, publicPort: PORT });
  });

  it('leaves MODELPORT_HOST alone off the host network or when the module sets it', () => {
    const bridge = web(1, { createOptions: { Labels: { 'modelport.update': 'start-first' } } });
    const own = web(1, { env: { MODELPORT_PORT: '5001', MODELPORT_HOST: '0.0.0.0' } });
    for (const m of [bridge, own]) {
      const [create] = expectSteps(plan(desired(m), [], ctx({ pulledFor: [m] })), 'createBehindProxy');
      expect(create?.env).toEqual({});
    }
  });

  it('plans nothing once the one up-to-date container is behind the proxy and routed', () => {
    const m = web(1);
    expect(plan(desired(m), current(behind(m, 1, { routed: true })), ctx())).toEqual([]);
  });
});

describe('plan: start-first update (v1 → v2)', () => {
  const v1 = web(1);
  const v2 = web(2);

  it('starts v2 beside v1, switches the proxy, then drains, stops and removes v1', () => {
    const old = behind(v1, 1, { routed: true });
    const steps = plan(desired(v2), current(old), ctx({ pulledFor: [v2] }));
    expect(ids(steps)).toEqual([
      `createBehindProxy:web:${h(v2)}`,
      'start:web',
      `awaitReady:web:${h(v2)}`,
      `route:web:${h(v2)}`,
      `drain:web:${short(old.id)}`,
      `stop:web:${short(old.id)}`,
      `remove:web:${short(old.id)}`,
    ]);
    expect(expectSteps(steps, 'createBehindProxy')[0]?.reason).toBe(
      'start-first update: image registry.test/web:1 → registry.test/web:2',
    );
    expect(expectSteps(steps, 'drain')[0]?.timeoutMs).toBe(DEFAULT_DRAIN_TIMEOUT_MS);
  });

  it('pulls v2 before anything else, leaving v1 serving', () => {
    const steps = plan(desired(v2), current(behind(v1, 1, { routed: true })), ctx());
    expect(ids(steps)).toEqual(['pull:registry.test/web:2']);
  });

  it('takes the ready and drain timeouts from the settings', () => {
    const steps = plan(
      desired(v2),
      current(behind(v1, 1, { routed: true })),
      ctx({ pulledFor: [v2], settings: { readyTimeoutMs: 5_000, drainTimeoutMs: 700 } }),
    );
    expect(expectSteps(steps, 'awaitReady')[0]?.timeoutMs).toBe(5_000);
    expect(expectSteps(steps, 'drain')[0]?.timeoutMs).toBe(700);
  });

  it('after a kill -9 between create and start: starts the created v2 and finishes the swap', () => {
    const old = behind(v1, 1, { routed: true });
    const next = behind(v2, 2, { state: 'created', startedAt: undefined, createdAt: NOW - 1_000 });
    const steps = plan(desired(v2), current(old, next), ctx());
    expect(ids(steps)).toEqual([
      'start:web',
      `awaitReady:web:${h(v2)}`,
      `route:web:${h(v2)}`,
      `drain:web:${short(old.id)}`,
      `stop:web:${short(old.id)}`,
      `remove:web:${short(old.id)}`,
    ]);
    expect(expectSteps(steps, 'start')[0]?.container).toBe(next.id);
    expect(expectSteps(steps, 'route')[0]?.container).toBe(next.id);
  });

  it('after a kill -9 after the switch: only stops and removes v1 (the proxy already sends v2 the traffic)', () => {
    const old = behind(v1, 1);
    const next = behind(v2, 2, { routed: true });
    expect(ids(plan(desired(v2), current(old, next), ctx()))).toEqual([
      `stop:web:${short(old.id)}`,
      `remove:web:${short(old.id)}`,
    ]);
  });

  it('after an agent restart mid-swap (no routes in the new proxy): routes v2 once ready, v1 goes without a drain', () => {
    const old = behind(v1, 1, { createdAt: NOW - 300_000 });
    const next = behind(v2, 2, { createdAt: NOW - 2_000 });
    expect(ids(plan(desired(v2), current(old, next), ctx()))).toEqual([
      `awaitReady:web:${h(v2)}`,
      `route:web:${h(v2)}`,
      `stop:web:${short(old.id)}`,
      `remove:web:${short(old.id)}`,
    ]);
  });

  it('after an agent restart when settled: awaits the one container and routes to it again', () => {
    const only = behind(v1, 1);
    expect(ids(plan(desired(v1), current(only), ctx()))).toEqual([
      `awaitReady:web:${h(v1)}`,
      `route:web:${h(v1)}`,
    ]);
  });

  it('keeps the routed one of two up-to-date containers and removes the other as a duplicate', () => {
    const kept = behind(v2, 1, { routed: true, createdAt: NOW - 60_000 });
    const extra = behind(v2, 2, { createdAt: NOW - 1_000 });
    const steps = plan(desired(v2), current(extra, kept), ctx());
    expect(ids(steps)).toEqual([`stop:web:${short(extra.id)}`, `remove:web:${short(extra.id)}`]);
    expect(expectSteps(steps, 'remove')[0]?.reason).toBe('duplicate container');
  });

  it('stops a v1 that owns the public port itself before routing, and only then removes it', () => {
    const own = container(v1, { routed: false }); // created before the module was start-first
    const steps = plan(desired(v2), current(own), ctx({ pulledFor: [v2] }));
    expect(ids(steps)).toEqual([
      `createBehindProxy:web:${h(v2)}`,
      'start:web',
      `awaitReady:web:${h(v2)}`,
      `stop:web:${short(own.id)}`,
      `remove:web:${short(own.id)}`,
      `route:web:${h(v2)}`,
    ]);
  });

  it('waits before starting a crashed v2 again while its readiness check is in retry back-off', () => {
    const old = behind(v1, 1, { routed: true });
    const next = behind(v2, 2, { state: 'exited', exitCode: 1, finishedAt: NOW - 500 });
    const readyId = `awaitReady:web:${h(v2)}`;
    const stats = {
      [readyId]: { failures: 2, lastFailureAt: NOW - 500, lastError: 'stopped before it was ready' },
    };
    const waiting = plan(desired(v2), current(old, next), ctx({ stepStats: stats }));
    expect(ids(waiting)).toEqual([`noop:retry-wait:${readyId}`]);
    expect(expectSteps(waiting, 'noop')[0]?.retryInMs).toBe(1_500);

    const later = plan(desired(v2), current(old, next), ctx({ stepStats: stats, now: NOW + 2_000 }));
    expect(ids(later).slice(0, 2)).toEqual(['start:web', readyId]);
  });

  it('holds the whole swap back while the route waits for a retry (its public port was taken)', () => {
    const next = behind(v2, 2);
    const routeId = `route:web:${h(v2)}`;
    const stats = { [routeId]: { failures: 1, lastFailureAt: NOW - 100, lastError: 'PROXY_PORT_IN_USE' } };
    const steps = plan(
      desired(v2),
      current(behind(v1, 1, { routed: true }), next),
      ctx({ stepStats: stats }),
    );
    expect(ids(steps)).toEqual([`noop:retry-wait:${routeId}`]);
  });

  it('gives up on a v2 that never gets ready (blocking: the deployment fails and rolls back)', () => {
    const next = behind(v2, 2);
    const readyId = `awaitReady:web:${h(v2)}`;
    const steps = plan(
      desired(v2),
      current(behind(v1, 1, { routed: true }), next),
      ctx({ stepStats: { [readyId]: { failures: 5, lastFailureAt: NOW - 1, lastError: 'HTTP 503' } } }),
    );
    const [noop] = expectSteps(steps, 'noop');
    expect(noop?.reason).toBe('gave-up');
    expect(BLOCKING_NOOPS.has(noop?.reason ?? 'backoff')).toBe(true);
    expectSteps(steps, 'route', 0);
  });

  it('after a rollback to v1 (still routed): removes the failed v2 and leaves v1 serving', () => {
    const old = behind(v1, 1, { routed: true });
    const failed = behind(v2, 2, { state: 'exited', exitCode: 1, finishedAt: NOW - 100 });
    expect(ids(plan(desired(v1), current(old, failed), ctx()))).toEqual([`remove:web:${short(failed.id)}`]);
  });
});

describe('plan: two start-first modules', () => {
  /** A second model module, start-first on the host network, listening on `port`. */
  const other = (port: number) =>
    mod('scorer', {
      image: 'registry.test/scorer:1',
      env: { MODELPORT_PORT: String(port) },
      createOptions: { Labels: { 'modelport.update': 'start-first' }, HostConfig: { NetworkMode: 'host' } },
    });

  it('refuses a deployment in which both claim the same public port (blocking, nothing else planned)', () => {
    const web1 = web(1);
    const scorer = other(PORT);
    const steps = plan(desired(web1, scorer), [], ctx({ pulledFor: [web1, scorer] }));
    expect(ids(steps)).toEqual(['noop:port-conflict:scorer', 'noop:port-conflict:web']);
    for (const noop of expectSteps(steps, 'noop', 2)) {
      expect(noop.reason).toBe('port-conflict');
      expect(BLOCKING_NOOPS.has(noop.reason)).toBe(true);
      expect(noop.detail).toBe(
        "PROXY_PORT_CONFLICT: modules 'scorer', 'web' claim the same public port 5001 (env MODELPORT_PORT " +
          'of start-first modules); give each module its own MODELPORT_PORT',
      );
    }
  });

  it('refuses it while the old deployment still serves: the running module is left alone', () => {
    const v1 = web(1);
    const steps = plan(desired(web(2), other(PORT)), current(behind(v1, 1, { routed: true })), ctx());
    expect(steps.every((s) => s.action === 'noop' && s.reason === 'port-conflict')).toBe(true);
  });

  it('plans both side by side when each has its own port', () => {
    const web1 = web(1);
    const scorer = other(PORT + 1);
    const steps = plan(desired(web1, scorer), [], ctx({ pulledFor: [web1, scorer] }));
    expect(expectSteps(steps, 'route', 2).map((r) => [r.module, r.publicPort])).toEqual([
      ['scorer', PORT + 1],
      ['web', PORT],
    ]);
  });
});

describe('plan: leaving start-first', () => {
  it('closes the route first when the module is no longer start-first, then recreates it as usual', () => {
    const v1 = web(1);
    const plain = mod('web', { image: 'registry.test/web:1', env: { MODELPORT_PORT: String(PORT) } });
    const old = behind(v1, 1, { routed: true });
    const steps = plan(desired(plain), current(old), ctx({ pulledFor: [plain] }));
    expect(ids(steps)).toEqual([
      'unroute:web',
      `stop:web:${short(old.id)}`,
      `remove:web:${short(old.id)}`,
      `create:web:${h(plain)}`,
      'start:web',
    ]);
    expect(expectSteps(steps, 'unroute')[0]?.reason).toBe('module is no longer start-first');
  });

  it('closes the route of a module removed from the deployment before removing its container', () => {
    const old = behind(web(1), 1, { routed: true });
    const steps = plan([], current(old), ctx());
    expect(ids(steps)).toEqual(['unroute:web', `stop:web:${short(old.id)}`, `remove:web:${short(old.id)}`]);
    expect(expectSteps(steps, 'unroute')[0]?.reason).toBe('module removed from the deployment');
  });

  it('plans a start-first module with desired status stopped as usual (no swap, the route stays)', () => {
    const stopped = web(1, { status: 'stopped' });
    const running = behind(stopped, 1, { routed: true });
    expect(ids(plan(desired(stopped), current(running), ctx()))).toEqual([`stop:web:${short(running.id)}`]);
  });

  it('restarts a settled module that crashed per its restart policy, keeping its port and route', () => {
    const m = web(1);
    const crashed = behind(m, 1, { routed: true, state: 'exited', exitCode: 1, finishedAt: NOW - 60_000 });
    expect(ids(plan(desired(m), current(crashed), ctx()))).toEqual(['restart:web']);
  });
});

describe('proxiedCreateBody', () => {
  it('names the container after module and spec, moves MODELPORT_PORT to the internal port and labels it', () => {
    const m = web(2);
    const body = proxiedCreateBody(
      m,
      { agentId: 'edge-1', deployment: '3', specHash: specHash(m), specParts: specParts(m) },
      { name: 'web.abc', internalPort: 41234, env: { MODELPORT_HOST: '127.0.0.1' } },
    );
    expect(body.name).toBe('web.abc');
    expect(body.Env).toEqual(['MODELPORT_PORT=41234', 'MODELPORT_HOST=127.0.0.1']);
    expect(body.Labels).toMatchObject({
      'modelport.update': 'start-first',
      'modelport.update.internal-port': '41234',
      'modelport.module': 'web',
      'modelport.spec-hash': specHash(m),
    });
  });
});
