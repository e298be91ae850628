/**
 * docs/staged-rollout.md, command for command, on the IoT Hub emulator with four IoT Edge devices:
 * canary by target condition and priority, metrics from what the canary reports, widening to the
 * fleet, retiring the old version. The twins' desired properties show which device got which.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubEmulator, startHubEmulator } from '../../support/iothub/index.js';
import { tempDir } from '../../support/tmp.js';
import { doc, edgeDevices, type Fleet, fleet, manifestFor, reportApplied, scoringImages } from './helpers.js';

const work = tempDir('staged-rollout');
const devices = ['canary-1', 'fleet-1', 'fleet-2', 'fleet-3'];
const V1 = 'localhost:5000/regression10:1';
const V2 = 'localhost:5000/regression10:2';
let hub: HubEmulator;
let f: Fleet;
let v1: string;
let v2: string;

beforeAll(async () => {
  hub = await startHubEmulator();
  f = fleet(hub, work.path);
  edgeDevices(hub, {
    'canary-1': { app: 'scoring', ring: 'canary' },
    'fleet-1': { app: 'scoring', ring: 'fleet' },
    'fleet-2': { app: 'scoring', ring: 'fleet' },
    'fleet-3': { app: 'scoring', ring: 'fleet' },
  });
  v1 = await manifestFor(f, 'scoring-v1', { scoring: V1 });
  v2 = await manifestFor(f, 'scoring-v2', { scoring: V2 });
});
afterAll(async () => {
  await hub.stop();
  hub.httpsAgent.destroy();
  work.cleanup();
});

const show = async (id: string) => doc(await f.mp(['deployment', 'show', id, '--json'])).result.deployment;

describe('staged roll-out (docs/staged-rollout.md)', () => {
  it('1. the fleet runs version 1', async () => {
    const run = await f.mp([
      'deploy',
      '--manifest',
      v1,
      '--id',
      'scoring-v1',
      '--target-condition',
      "tags.app='scoring'",
      '--priority',
      '10',
      '--label',
      'model=regression10:1',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(scoringImages(hub, devices)).toEqual({
      'canary-1': V1,
      'fleet-1': V1,
      'fleet-2': V1,
      'fleet-3': V1,
    });
  });

  it('2. version 2 reaches the canary ring only', async () => {
    const run = await f.mp([
      'deploy',
      '--manifest',
      v2,
      '--id',
      'scoring-v2',
      '--target-condition',
      "tags.app='scoring' AND tags.ring='canary'",
      '--priority',
      '20',
      '--label',
      'model=regression10:2',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(scoringImages(hub, devices)).toEqual({
      'canary-1': V2,
      'fleet-1': V1,
      'fleet-2': V1,
      'fleet-3': V1,
    });
    expect((await show('scoring-v1')).metrics).toMatchObject({ targeted: 4, applied: 3 });
  });

  it('3. the canary reports success, and the metrics say so', async () => {
    expect((await show('scoring-v2')).metrics).toMatchObject({
      targeted: 1,
      applied: 1,
      reportedSuccessful: 0,
    });
    await reportApplied(hub, 'canary-1', 200);
    expect((await show('scoring-v2')).metrics).toMatchObject({
      targeted: 1,
      applied: 1,
      reportedSuccessful: 1,
      reportedFailed: 0,
    });
    const text = await f.mp(['deployment', 'show', 'scoring-v2']);
    expect(text.stdout).toContain('targeted 1, applied 1, reported success 1, reported failure 0');
  });

  it('4. widening the target condition takes version 2 to the whole fleet', async () => {
    const etag = (await show('scoring-v2')).etag;
    const run = await f.mp([
      'deploy',
      '--manifest',
      v2,
      '--id',
      'scoring-v2',
      '--target-condition',
      "tags.app='scoring'",
      '--priority',
      '20',
      '--etag',
      etag,
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(doc(run).result.outcome).toBe('updated');
    expect(scoringImages(hub, devices)).toEqual({
      'canary-1': V2,
      'fleet-1': V2,
      'fleet-2': V2,
      'fleet-3': V2,
    });
    for (const device of devices) await reportApplied(hub, device, 200);
    expect((await show('scoring-v2')).metrics).toMatchObject({
      targeted: 4,
      applied: 4,
      reportedSuccessful: 4,
      reportedFailed: 0,
    });
    expect((await show('scoring-v1')).metrics).toMatchObject({ targeted: 4, applied: 0 });
  });

  it('5. version 1 is retired; the devices keep version 2', async () => {
    const run = await f.mp(['deployment', 'delete', 'scoring-v1']);
    expect(run.code, run.stderr).toBe(0);
    const list = doc(await f.mp(['deployment', 'list', '--json'])).result;
    expect(list.map((d: { id: string }) => d.id)).toEqual(['scoring-v2']);
    expect(scoringImages(hub, devices)).toEqual({
      'canary-1': V2,
      'fleet-1': V2,
      'fleet-2': V2,
      'fleet-3': V2,
    });
  });

  it('backing out a canary returns its devices to the deployment below', async () => {
    const v3 = await manifestFor(f, 'scoring-v3', { scoring: 'localhost:5000/regression10:3' });
    const canary = await f.mp([
      'deploy',
      '--manifest',
      v3,
      '--id',
      'scoring-v3',
      '--target-condition',
      "tags.ring='canary'",
      '--priority',
      '30',
    ]);
    expect(canary.code, canary.stderr).toBe(0);
    expect(scoringImages(hub, ['canary-1', 'fleet-1'])).toEqual({
      'canary-1': 'localhost:5000/regression10:3',
      'fleet-1': V2,
    });
    expect((await f.mp(['deployment', 'delete', 'scoring-v3'])).code).toBe(0);
    expect(scoringImages(hub, ['canary-1', 'fleet-1'])).toEqual({ 'canary-1': V2, 'fleet-1': V2 });
  });
});
