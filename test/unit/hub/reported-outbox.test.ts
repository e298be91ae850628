/** The agent's reported `modelport` section carries the outbox's state (unavailable with its error). */
import { describe, expect, it } from 'vitest';
import { buildReported, type ReportInput } from '../../../agent/report/reported.js';

const base: ReportInput = {
  agentId: 'local',
  agentVersion: '1.0.0',
  agentImage: 'modelport-agent:1.0.0',
  agentStartedAt: 0,
  platform: { os: 'linux', architecture: 'x86_64', version: '1.0.0' },
  desired: undefined,
  modules: [],
  containers: [],
  stats: new Map(),
  waits: [],
  lastDesired: undefined,
  deployment: undefined,
};

describe('reported modelport.outbox', () => {
  it('shows an unavailable outbox with its last error', () => {
    const lastError = {
      code: 'OUTBOX_UNAVAILABLE',
      message: 'cannot open the outbox',
      at: '2025-01-01T00:00:00.000Z',
    };
    const doc = buildReported({ ...base, outbox: { state: 'unavailable', lastError } });
    expect(doc.modelport).toEqual({ agentId: 'local', outbox: { status: 'unavailable', lastError } });
  });

  it('shows ok without an error, and nothing without edge services', () => {
    expect(buildReported({ ...base, outbox: { state: 'ok' } }).modelport).toEqual({
      agentId: 'local',
      outbox: { status: 'ok' },
    });
    expect(buildReported(base).modelport).toEqual({ agentId: 'local' });
  });
});
