import { describe, expect, it } from 'vitest';
import type { StepOf } from '../../../agent/reconcile/types.js';
import { applyPatch, diffPatch, type JsonObject } from '../../../agent/report/merge-patch.js';
import { buildReported, type ReportInput, reportedModule } from '../../../agent/report/reported.js';
import { Reporter, type ReportSink } from '../../../agent/report/reporter.js';
import { container, exited, mod, NOW } from '../../helpers/state.js';

describe('diffPatch / applyPatch (JSON merge patch)', () => {
  it('sends only what changed, with removed keys as null', () => {
    const from = { a: 1, modules: { x: { s: 'running', n: 0 }, y: { s: 'running' } } };
    const to = { a: 1, modules: { x: { s: 'failed', n: 0 }, z: { s: 'running' } } };
    const patch = diffPatch(from, to);
    expect(patch).toEqual({ modules: { x: { s: 'failed' }, y: null, z: { s: 'running' } } });
    expect(applyPatch(from, patch as JsonObject)).toEqual(to);
  });

  it('returns undefined for equal documents, whatever the key order', () => {
    expect(diffPatch({ a: { b: 1, c: [1, 2] } }, { a: { c: [1, 2], b: 1 } })).toBeUndefined();
  });

  it('replaces arrays whole and objects that replace scalars without nulls in them', () => {
    expect(diffPatch({ a: [1, 2], b: 3 }, { a: [2], b: { c: 1 } })).toEqual({ a: [2], b: { c: 1 } });
  });
});

const waitFor = (module: string, reason: StepOf<'noop'>['reason'], detail: string, retryInMs?: number) =>
  ({
    action: 'noop',
    id: `noop:${reason}:${module}`,
    module,
    reason,
    detail,
    ...(retryInMs && { retryInMs }),
  }) as const;

describe('reportedModule', () => {
  const m = mod('scorer', { version: '2.0', restartPolicy: 'on-failure' });

  it('reports a running module in edgeAgent shape', () => {
    const c = container(m);
    expect(reportedModule(m, c, undefined, undefined)).toEqual({
      runtimeStatus: 'running',
      statusDescription: 'running',
      exitCode: 0,
      lastStartTimeUtc: new Date(NOW - 60_000).toISOString(),
      restartCount: 0,
      version: '2.0',
      status: 'running',
      restartPolicy: 'on-failure',
      imagePullPolicy: 'on-create',
      startupOrder: 4294967295,
      type: 'docker',
      settings: { image: 'registry.test/scorer:1', imageHash: c.imageId },
    });
  });

  it('reports back-off with the failure, the restart count and when the next restart is', () => {
    const c = exited(m, 1, 5_000, { failureDetail: 'exited with code 1: cannot open model' });
    const r = reportedModule(
      m,
      c,
      { restartCount: 2, lastRestartAt: NOW - 30_000, stoppedByAgent: false },
      waitFor('scorer', 'backoff', 'exited with code 1', 35_000),
    );
    expect(r).toMatchObject({
      runtimeStatus: 'backoff',
      statusDescription: 'exited with code 1: cannot open model; restarting in 35 s',
      exitCode: 1,
      lastExitTimeUtc: new Date(NOW - 5_000).toISOString(),
      restartCount: 2,
      lastRestartTimeUtc: new Date(NOW - 30_000).toISOString(),
    });
  });

  it('reports a model integrity failure as the container described it', () => {
    const c = exited(m, 78, 1_000, {
      failureDetail: "model integrity check failed: model 'm' version 1: expected sha256:a…",
    });
    expect(reportedModule(m, c, undefined, undefined)).toMatchObject({
      runtimeStatus: 'failed',
      exitCode: 78,
      statusDescription: "model integrity check failed: model 'm' version 1: expected sha256:a…",
    });
  });

  it.each([
    [
      { state: 'running', health: 'unhealthy' } as const,
      'unhealthy',
      'running, but unhealthy (Docker HEALTHCHECK)',
    ],
    [{ state: 'created', startedAt: undefined } as const, 'stopped', 'created, not started'],
    [{ state: 'exited', exitCode: 0 } as const, 'stopped', 'exited with code 0'],
    [{ state: 'running', health: 'healthy' } as const, 'running', 'running (healthy)'],
  ])('maps %j to %s', (state, runtimeStatus, statusDescription) => {
    expect(reportedModule(m, container(m, state), undefined, undefined)).toMatchObject({
      runtimeStatus,
      statusDescription,
    });
  });

  it('says why a module has no container yet', () => {
    const r = reportedModule(
      m,
      undefined,
      undefined,
      waitFor('scorer', 'image-missing', 'image x is not on this device'),
    );
    expect(r).toMatchObject({
      runtimeStatus: 'unknown',
      statusDescription: 'not created: image x is not on this device',
    });
    expect(r).not.toHaveProperty('exitCode');
  });

  it('reports a module left failed after too many restarts', () => {
    const r = reportedModule(
      m,
      exited(m, 1, 1_000),
      undefined,
      waitFor('scorer', 'restart-limit', 'exited with code 1; gave up after 20 restarts'),
    );
    expect(r).toMatchObject({
      runtimeStatus: 'failed',
      statusDescription: 'exited with code 1; gave up after 20 restarts',
    });
  });
});

function input(overrides: Partial<ReportInput> = {}): ReportInput {
  const a = mod('a');
  return {
    agentId: 'edge-1',
    agentVersion: '0.1.0',
    agentImage: 'modelport-agent:0.1.0',
    agentStartedAt: NOW - 1_000,
    platform: { os: 'linux', architecture: 'x86_64', version: '0.1.0' },
    desired: undefined,
    modules: [a],
    containers: [container(a)],
    stats: new Map(),
    waits: [],
    lastDesired: { version: 7, status: { code: 200, description: '1 module running as desired' } },
    deployment: { version: 7, phase: 'running', detail: '' },
    ...overrides,
  };
}

describe('buildReported', () => {
  it("has edgeAgent's top-level shape", () => {
    const doc = buildReported(input());
    expect(Object.keys(doc)).toEqual([
      'schemaVersion',
      'version',
      'lastDesiredVersion',
      'lastDesiredStatus',
      'runtime',
      'systemModules',
      'modules',
      'modelport',
    ]);
    expect(doc).toMatchObject({
      lastDesiredVersion: 7,
      lastDesiredStatus: { code: 200 },
      runtime: { platform: { os: 'linux', architecture: 'x86_64' }, type: 'docker' },
      systemModules: { edgeAgent: { runtimeStatus: 'running', type: 'docker' }, edgeHub: { type: 'docker' } },
      modelport: { agentId: 'edge-1', deployment: { version: 7, phase: 'running' } },
    });
  });

  it('reports ConfigEmptyError (417) before any deployment arrived', () => {
    const doc = buildReported(input({ lastDesired: undefined, modules: [], containers: [] }));
    expect(doc['lastDesiredStatus']).toEqual({ code: 417, description: 'no deployment has been received' });
    expect(doc).not.toHaveProperty('lastDesiredVersion');
  });

  it('a removed module becomes null in the next patch, and an unchanged pass sends nothing', () => {
    const a = mod('a');
    const b = mod('b');
    const before = buildReported(
      input({ modules: [a, b], containers: [container(a), container(b)] }),
    ) as JsonObject;
    const after = buildReported(
      input({ modules: [a], containers: [container(a, { id: 'x'.repeat(64) })] }),
    ) as JsonObject;
    const patch = diffPatch(before, after);
    expect(patch).toEqual({ modules: { b: null } });
    expect(
      diffPatch(
        after,
        buildReported(
          input({ modules: [a], containers: [container(a, { id: 'y'.repeat(64) })] }),
        ) as JsonObject,
      ),
    ).toBeUndefined();
  });
});

describe('Reporter', () => {
  function recordingSink(fail = () => false): ReportSink & { sent: JsonObject[] } {
    const sent: JsonObject[] = [];
    return {
      sent,
      send: async (patch) => {
        if (fail()) throw new Error('offline');
        sent.push(patch);
      },
    };
  }
  const quiet = { reportSent: () => undefined, reportFailed: () => undefined };

  it('sends the difference from the acknowledged baseline only', async () => {
    const sink = recordingSink();
    const reporter = new Reporter(sink, quiet);
    reporter.setBaseline({ a: 1, b: { c: 1 }, $version: 4, $metadata: {} });
    await reporter.report({ a: 1, b: { c: 2 } });
    await reporter.report({ a: 1, b: { c: 2 } });
    expect(sink.sent).toEqual([{ b: { c: 2 } }]);
  });

  it('keeps the baseline when a send fails, so the next report carries everything not acknowledged', async () => {
    let offline = true;
    const sink = recordingSink(() => offline);
    const reporter = new Reporter(sink, quiet);
    await reporter.report({ a: 1 });
    await reporter.report({ a: 1, b: 2 });
    offline = false;
    await reporter.report({ a: 1, b: 3 });
    expect(sink.sent).toEqual([{ a: 1, b: 3 }]);
  });
});
