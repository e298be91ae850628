/**
 * `<home>/metrics.json` is not rewritten every pass (flash wear on gateways): only when a figure
 * changed, at most every `snapshotMinIntervalMs`, and always with the last figures at stop.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { METRICS_SNAPSHOT_FILE, startEdgeReporting } from '../../../agent/hub/edge-reporting.js';
import type { EdgeHubReported, EdgeMetrics } from '../../../agent/hub/edge-services.js';
import { tempDir } from '../../support/tmp.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const reported = {
  schemaVersion: '1.1',
  lastDesiredStatus: { code: 200, description: '' },
  clients: {},
  unroutedMessages: 0,
  storeAndForward: { status: 'ok', capBytes: 1, expired: 0, evicted: 0, rejected: 0 },
} as EdgeHubReported;

describe('metrics.json snapshot', () => {
  it('is written when figures change, not again while they stay the same, at most every min interval', async () => {
    const tmp = tempDir('edge-reporting');
    cleanups.push(tmp.cleanup);
    let clock = 1_000_000;
    let sent = 0;
    const metrics = () =>
      ({ hub: { received: sent }, outbox: { totals: { sent } } }) as unknown as EdgeMetrics;
    const silent = {
      reportSent: () => undefined,
      reportFailed: () => undefined,
      snapshotFailed: () => undefined,
    };
    const reporting = startEdgeReporting({
      home: tmp.path,
      services: { edgeHubReported: () => reported, metrics },
      intervalMs: 3_600_000,
      snapshotMinIntervalMs: 30_000,
      events: silent,
      now: () => clock,
    });
    cleanups.push(() => reporting.stop());
    const path = join(tmp.path, METRICS_SNAPSHOT_FILE);
    const read = () =>
      JSON.parse(readFileSync(path, 'utf8')) as { time: string; outbox: { totals: { sent: number } } };
    await reporting.refresh();
    const first = read();
    const firstInode = statSync(path).ino;
    expect(first.outbox.totals.sent).toBe(0);

    // Nothing changed: passes go by, the file is not replaced (same inode, same time).
    for (let i = 0; i < 5; i += 1) {
      clock += 60_000;
      await reporting.refresh();
    }
    expect(read().time).toBe(first.time);
    expect(statSync(path).ino).toBe(firstInode);

    // A change is written on the next pass after the min interval, not before.
    sent = 1;
    const changedAt = clock;
    clock += 1_000;
    await reporting.refresh();
    expect(read().time).toBe(new Date(changedAt + 1_000).toISOString());
    sent = 2;
    clock += 5_000;
    await reporting.refresh();
    expect(read().outbox.totals.sent).toBe(1);
    clock += 30_000;
    await reporting.refresh();
    expect(read().outbox.totals.sent).toBe(2);

    // Stop writes the last figures even within the interval.
    sent = 3;
    clock += 1_000;
    await reporting.stop();
    expect(read().outbox.totals.sent).toBe(3);
  });
});
