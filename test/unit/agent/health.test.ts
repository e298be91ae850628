import { describe, expect, it } from 'vitest';
import { moduleHealth, probeAddress, probeSpec } from '../../../agent/health/health.js';
import { container, exited, mod, NOW } from '../../helpers/state.js';

const STABLE = 10_000;

describe('probeSpec', () => {
  it.each([
    [{}, {}, undefined],
    [{ MODELPORT_PORT: '5001' }, {}, { port: 5001, path: '/' }],
    [
      {},
      { Labels: { 'modelport.probe.port': '8080', 'modelport.probe.path': 'healthz' } },
      { port: 8080, path: '/healthz' },
    ],
    [{ MODELPORT_PORT: '5001' }, { Labels: { 'modelport.probe.port': '9000' } }, { port: 9000, path: '/' }],
    [{ MODELPORT_PORT: 'abc' }, {}, undefined],
  ])('env %j, createOptions %j → %j', (env, createOptions, spec) => {
    expect(probeSpec(mod('a', { env, createOptions }))).toEqual(spec);
  });
});

describe('moduleHealth', () => {
  const plain = mod('a');
  const served = mod('a', { env: { MODELPORT_PORT: '5001' } });

  it.each([
    [
      'Docker HEALTHCHECK healthy',
      plain,
      container(plain, { health: 'healthy' }),
      undefined,
      true,
      'docker-healthcheck',
    ],
    [
      'Docker HEALTHCHECK starting',
      plain,
      container(plain, { health: 'starting' }),
      undefined,
      false,
      'docker-healthcheck',
    ],
    [
      'HEALTHCHECK wins over a probe',
      served,
      container(served, { health: 'unhealthy' }),
      { status: 200 },
      false,
      'docker-healthcheck',
    ],
    ['probe answered 200', served, container(served), { status: 200 }, true, 'http-probe'],
    ['probe answered 404 (serving)', served, container(served), { status: 404 }, true, 'http-probe'],
    ['probe answered 503', served, container(served), { status: 503 }, false, 'http-probe'],
    ['probe refused', served, container(served), { error: 'ECONNREFUSED' }, false, 'http-probe'],
    [
      'running long enough',
      plain,
      container(plain, { startedAt: NOW - STABLE }),
      undefined,
      true,
      'running-for',
    ],
    [
      'running too briefly',
      plain,
      container(plain, { startedAt: NOW - 3_000 }),
      undefined,
      false,
      'running-for',
    ],
    [
      'crashed',
      plain,
      exited(plain, 1, 500, { failureDetail: 'exited with code 1: boom' }),
      undefined,
      false,
      'running-for',
    ],
    ['no container', plain, undefined, undefined, false, 'running-for'],
  ] as const)('%s → healthy %s (%s)', (_what, m, c, probe, healthy, rule) => {
    const h = moduleHealth({ module: m, container: c, probe, now: NOW, stableMs: STABLE });
    expect(h.healthy).toBe(healthy);
    expect(h.rule).toBe(rule);
  });

  it('counts a stopped module and a completed run-once module as healthy', () => {
    const stopped = mod('s', { status: 'stopped' });
    expect(
      moduleHealth({ module: stopped, container: undefined, probe: undefined, now: NOW, stableMs: STABLE })
        .healthy,
    ).toBe(true);
    const once = mod('o', { restartPolicy: 'never' });
    expect(
      moduleHealth({
        module: once,
        container: exited(once, 0, 10),
        probe: undefined,
        now: NOW,
        stableMs: STABLE,
      }),
    ).toMatchObject({
      healthy: true,
      rule: 'completed',
    });
  });

  it('explains an unhealthy verdict', () => {
    const h = moduleHealth({
      module: served,
      container: container(served),
      probe: { status: 503 },
      now: NOW,
      stableMs: STABLE,
    });
    expect(h.detail).toBe('GET / on port 5001: HTTP 503');
    const crashed = moduleHealth({
      module: plain,
      container: exited(plain, 1, 500, { failureDetail: 'exited with code 1: boom' }),
      probe: undefined,
      now: NOW,
      stableMs: STABLE,
    });
    expect(crashed.detail).toBe('exited with code 1: boom');
  });
});

describe('probeAddress', () => {
  const spec = { port: 5001, path: '/' };

  it('uses loopback for host networking, the container IP otherwise, the published port as a last resort', () => {
    expect(probeAddress({ HostConfig: { NetworkMode: 'host' } }, spec)).toEqual({
      host: '127.0.0.1',
      port: 5001,
    });
    expect(
      probeAddress(
        {
          HostConfig: { NetworkMode: 'bridge' },
          NetworkSettings: { Networks: { bridge: { IPAddress: '172.17.0.5' } } },
        },
        spec,
      ),
    ).toEqual({ host: '172.17.0.5', port: 5001 });
    expect(
      probeAddress(
        {
          HostConfig: { NetworkMode: 'none', PortBindings: { '5001/tcp': [{ HostPort: '18080' }] } },
          NetworkSettings: {},
        },
        spec,
      ),
    ).toEqual({ host: '127.0.0.1', port: 18080 });
    expect(probeAddress({ HostConfig: { NetworkMode: 'none' }, NetworkSettings: {} }, spec)).toBeUndefined();
  });
});
