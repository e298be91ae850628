/**
 * `modelport deploy` and `modelport deployment list|show|delete` through the real binary and the real
 * azure-iothub SDK against the IoT Hub emulator: single-device apply, at-scale create and update with
 * etags, target conditions selecting devices, layered merge, metrics read back, and the failures.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubClient } from '../../../cloud/fleet/index.js';
import { type HubEmulator, startHubEmulator } from '../../support/iothub/index.js';
import { tempDir } from '../../support/tmp.js';
import {
  agentDesired,
  closedPort,
  desiredImages,
  doc,
  edgeDevices,
  type Fleet,
  fleet,
  hubEnv,
  manifestFor,
  reportApplied,
  scoringImages,
} from './helpers.js';

const work = tempDir('deploy-cli');
let hub: HubEmulator;
let f: Fleet;
let v1: string;
let v2: string;
let extra: string;

let hubClient: HubClient | undefined;
/** cloud/fleet's own client, to read what the hub stored. */
async function client(): Promise<HubClient> {
  hubClient ??= HubClient.fromConnectionString(hub.serviceConnectionString, { caPem: hub.ca });
  return hubClient;
}

const configurationWrites = (id: string) =>
  hub.requests().filter((r) => r.path.startsWith(`/configurations/${id}`) && r.method !== 'GET').length;

beforeAll(async () => {
  hub = await startHubEmulator();
  f = fleet(hub, work.path);
  edgeDevices(hub, {
    'eu-1': { app: 'scoring', region: 'eu' },
    'eu-2': { app: 'scoring', region: 'eu' },
    'us-1': { app: 'scoring', region: 'us' },
    'lab-1': { app: 'lab' },
  });
  hub.createDevice('sensor-1'); // not an IoT Edge device
  v1 = await manifestFor(f, 'v1', { scoring: 'localhost:5000/scoring:1' });
  v2 = await manifestFor(f, 'v2', { scoring: 'localhost:5000/scoring:2' });
  extra = await manifestFor(
    f,
    'extra',
    { telemetry: 'localhost:5000/telemetry:1' },
    { telemetryUp: 'FROM /messages/modules/telemetry/* INTO $upstream' },
  );
});
afterAll(async () => {
  hubClient?.close();
  await hub.stop();
  hub.httpsAgent.destroy();
  work.cleanup();
});

describe('modelport deploy --device', () => {
  it('applies the manifest to that one device only', async () => {
    const run = await f.mp(['deploy', '--manifest', v1, '--device', 'lab-1', '--json']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(doc(run).result).toEqual({
      mode: 'device',
      deviceId: 'lab-1',
      modules: [{ name: 'scoring', image: 'localhost:5000/scoring:1' }],
    });
    expect(desiredImages(hub, 'lab-1')).toEqual({ scoring: 'localhost:5000/scoring:1' });
    expect(desiredImages(hub, 'eu-1')).toEqual({});
    expect(agentDesired(hub, 'lab-1').schemaVersion).toBe('1.1');
  });

  it('refuses an unknown device (exit 3) and a device that is not IoT Edge (exit 2), sending nothing', async () => {
    const unknown = await f.mp(['deploy', '--manifest', v1, '--device', 'ghost', '--json']);
    expect(unknown.code).toBe(3);
    expect(doc(unknown).error).toMatchObject({
      code: 'DEVICE_NOT_FOUND',
      message: expect.stringContaining("device 'ghost'"),
    });
    const sensor = await f.mp(['deploy', '--manifest', v1, '--device', 'sensor-1']);
    expect(sensor.code).toBe(2);
    expect(sensor.stderr).toContain("device 'sensor-1' is not an IoT Edge device");
    expect(
      hub.requests().filter((r) => r.path.includes('applyConfigurationContent') && r.status !== 200),
    ).toEqual([]);
  });

  it('refuses an invalid manifest before contacting the hub', async () => {
    const manifest = JSON.parse(readFileSync(v1, 'utf8'));
    manifest.modulesContent.$edgeAgent['properties.desired'].modules.scoring.restartPolicy = 'sometimes';
    const bad = join(work.path, 'bad.json');
    writeFileSync(bad, JSON.stringify(manifest));
    const before = hub.requests().length;
    const run = await f.mp(['deploy', '--manifest', bad, '--device', 'lab-1', '--json']);
    expect(run.code).toBe(2);
    expect(doc(run).error.details.errors[0].path).toBe(
      "$.modulesContent.$edgeAgent['properties.desired'].modules.scoring.restartPolicy",
    );
    expect(hub.requests().length).toBe(before);
  });
});

describe('modelport deploy --id (at-scale deployments)', () => {
  it('creates a deployment that reaches exactly the devices its target condition selects', async () => {
    const run = await f.mp([
      'deploy',
      '--manifest',
      v1,
      '--id',
      'scoring-eu',
      '--target-condition',
      "tags.app='scoring' AND tags.region='eu'",
      '--priority',
      '10',
      '--label',
      'app=scoring',
      '--json',
    ]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const result = doc(run).result;
    expect(result).toMatchObject({
      mode: 'deployment',
      outcome: 'created',
      deployment: {
        id: 'scoring-eu',
        priority: 10,
        labels: { app: 'scoring' },
        layered: false,
        modules: [{ name: 'scoring', image: 'localhost:5000/scoring:1' }],
      },
    });
    expect(result.deployment.etag).toEqual(expect.any(String));
    expect(scoringImages(hub, ['eu-1', 'eu-2', 'us-1'])).toEqual({
      'eu-1': 'localhost:5000/scoring:1',
      'eu-2': 'localhost:5000/scoring:1',
      'us-1': undefined,
    });
    const show = await f.mp(['deployment', 'show', 'scoring-eu', '--json']);
    expect(doc(show).result.deployment.metrics).toEqual({
      targeted: 2,
      applied: 2,
      reportedSuccessful: 0,
      reportedFailed: 0,
      custom: {},
    });
  });

  it('updates target condition and priority with the etag it read; the same request again changes nothing', async () => {
    const before = doc(await f.mp(['deployment', 'show', 'scoring-eu', '--json'])).result.deployment.etag;
    const run = await f.mp([
      'deploy',
      '--manifest',
      v1,
      '--id',
      'scoring-eu',
      '--target-condition',
      "tags.app='scoring'",
      '--priority',
      '11',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const updated = doc(run).result;
    expect(updated.outcome).toBe('updated');
    expect(updated.deployment).toMatchObject({
      targetCondition: "tags.app='scoring'",
      priority: 11,
      labels: { app: 'scoring' },
    });
    expect(updated.deployment.etag).not.toBe(before);
    expect(scoringImages(hub, ['us-1'])).toEqual({ 'us-1': 'localhost:5000/scoring:1' });
    const writes = configurationWrites('scoring-eu');
    const again = await f.mp([
      'deploy',
      '--manifest',
      v1,
      '--id',
      'scoring-eu',
      '--target-condition',
      "tags.app='scoring'",
      '--priority',
      '11',
    ]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Unchanged: deployment scoring-eu');
    expect(configurationWrites('scoring-eu')).toBe(writes);
  });

  it('refuses a stale --etag with exit 4 and leaves the deployment as it was', async () => {
    const current = doc(await f.mp(['deployment', 'show', 'scoring-eu', '--json'])).result.deployment;
    const bump = await f.mp([
      'deploy',
      '--manifest',
      v1,
      '--id',
      'scoring-eu',
      '--target-condition',
      "tags.app='scoring'",
      '--priority',
      '12',
      '--etag',
      current.etag,
      '--json',
    ]);
    expect(bump.code, bump.stdout).toBe(0);
    const stale = await f.mp([
      'deploy',
      '--manifest',
      v1,
      '--id',
      'scoring-eu',
      '--target-condition',
      "tags.region='us'",
      '--priority',
      '13',
      '--etag',
      current.etag,
      '--json',
    ]);
    expect(stale.code).toBe(4);
    expect(doc(stale).error).toMatchObject({
      code: 'ETAG_MISMATCH',
      message: expect.stringContaining(
        `deployment 'scoring-eu' was changed since etag ${current.etag} was read`,
      ),
    });
    const after = doc(await f.mp(['deployment', 'show', 'scoring-eu', '--json'])).result.deployment;
    expect(after).toMatchObject({ priority: 12, targetCondition: "tags.app='scoring'" });
  });

  it('refuses other content under an existing id (exit 4): IoT Hub never changes content', async () => {
    const before = doc(await f.mp(['deployment', 'show', 'scoring-eu', '--json'])).result.deployment;
    const run = await f.mp([
      'deploy',
      '--manifest',
      v2,
      '--id',
      'scoring-eu',
      '--target-condition',
      "tags.app='scoring'",
      '--priority',
      '12',
    ]);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain("deployment 'scoring-eu' already exists with other content");
    expect(run.stderr).toContain('hint: deploy the new content under a new --id with a higher --priority');
    expect(doc(await f.mp(['deployment', 'show', 'scoring-eu', '--json'])).result.deployment.etag).toBe(
      before.etag,
    );
  });

  it('merges a layered deployment on top of the base, and reads custom metrics back', async () => {
    const run = await f.mp([
      'deploy',
      '--manifest',
      extra,
      '--id',
      'telemetry-layer',
      '--target-condition',
      "tags.region='eu'",
      '--priority',
      '5',
      '--layered',
      '--metric',
      "euDevices=SELECT deviceId FROM devices WHERE tags.region='eu'",
      '--json',
    ]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(doc(run).result.deployment).toMatchObject({
      layered: true,
      modules: [{ name: 'telemetry', image: 'localhost:5000/telemetry:1' }],
    });
    expect(desiredImages(hub, 'eu-1')).toEqual({
      scoring: 'localhost:5000/scoring:1',
      telemetry: 'localhost:5000/telemetry:1',
    });
    expect(desiredImages(hub, 'us-1')).toEqual({ scoring: 'localhost:5000/scoring:1' });
    const hubDesired = (
      hub.twin('eu-1', '$edgeHub') as { properties: { desired: { routes: Record<string, string> } } }
    ).properties.desired;
    expect(Object.keys(hubDesired.routes).sort()).toEqual(['telemetryUp', 'up']);
    const show = doc(await f.mp(['deployment', 'show', 'telemetry-layer', '--json'])).result;
    expect(show.deployment.metrics).toMatchObject({ targeted: 2, applied: 2, custom: { euDevices: 2 } });
    expect(show.configuration.content.modulesContent.$edgeAgent).toHaveProperty([
      'properties.desired.modules.telemetry',
    ]);
  });

  it('reads reported success and failure counts from what the devices report', async () => {
    await reportApplied(hub, 'eu-1', 200);
    await reportApplied(hub, 'eu-2', 500);
    const metrics = doc(await f.mp(['deployment', 'show', 'scoring-eu', '--json'])).result.deployment.metrics;
    expect(metrics).toMatchObject({ targeted: 3, applied: 3, reportedSuccessful: 1, reportedFailed: 1 });
    const text = await f.mp(['deployment', 'show', 'scoring-eu']);
    expect(text.stdout).toContain('targeted 3, applied 3, reported success 1, reported failure 1');
  });

  it('refuses a layered manifest without --layered, and --layered with --device', async () => {
    const layered = await f.mp(['deployment', 'show', 'telemetry-layer', '--json']);
    const file = join(work.path, 'layered.json');
    writeFileSync(file, JSON.stringify({ content: doc(layered).result.configuration.content }));
    const run = await f.mp([
      'deploy',
      '--manifest',
      file,
      '--id',
      'again',
      '--target-condition',
      "tags.region='eu'",
      '--priority',
      '5',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('is a layered deployment; deploy it with --id … --layered');
    const device = await f.mp(['deploy', '--manifest', v1, '--device', 'eu-1', '--layered']);
    expect(device.code).toBe(2);
    expect(device.stderr).toContain('--layered belong to at-scale deployments (--id), not to --device');
  });
});

describe('manifests that cannot be deployed, and secrets', () => {
  it.each([
    ["over IoT Hub's 32 KB twin limit", 'twin-size'],
    ['only the $edgeAgent twin', 'MANIFEST_INCOMPLETE'],
  ])('refuses a manifest %s before contacting the hub', async (what, expected) => {
    const manifest = JSON.parse(readFileSync(v1, 'utf8'));
    const agent = manifest.modulesContent.$edgeAgent['properties.desired'];
    let body: unknown = manifest;
    if (expected === 'twin-size') {
      agent.modules.scoring.env = Object.fromEntries(
        Array.from({ length: 40 }, (_, i) => [`V${i}`, { value: 'x'.repeat(1000) }]),
      );
    } else body = agent;
    const file = join(work.path, `undeployable-${expected}.json`);
    writeFileSync(file, JSON.stringify(body));
    const before = hub.requests().length;
    const run = await f.mp([
      'deploy',
      '--manifest',
      file,
      '--id',
      'nope',
      '--target-condition',
      "tags.a='b'",
      '--priority',
      '1',
      '--json',
    ]);
    expect(run.code, what).toBe(2);
    const error = doc(run).error;
    if (expected === 'twin-size')
      expect(error.details.errors.map((e: { rule: string }) => e.rule)).toContain('twin-size');
    else expect(error.code).toBe(expected);
    expect(hub.requests().length).toBe(before);
  });

  it('deploys registry credentials to the hub but never prints the password', async () => {
    const spec = join(work.path, 'private.yaml');
    writeFileSync(
      spec,
      'modules:\n  scoring:\n    image: registry.example/scoring:1\nregistryCredentials:\n  private:\n    address: registry.example\n    usernameEnv: REG_USER\n    passwordEnv: REG_PASS\n',
    );
    const manifest = join(work.path, 'private.json');
    const env = { REG_USER: 'puller', REG_PASS: 'hunter2-not-printed' };
    expect((await f.mp(['manifest', 'generate', '--spec', spec, '-o', manifest], env)).code).toBe(0);
    const run = await f.mp([
      'deploy',
      '--manifest',
      manifest,
      '--id',
      'private',
      '--target-condition',
      "tags.app='none'",
      '--priority',
      '1',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const show = await f.mp(['deployment', 'show', 'private', '--json']);
    const shown =
      doc(show).result.configuration.content.modulesContent.$edgeAgent['properties.desired'].runtime.settings
        .registryCredentials;
    expect(shown).toEqual({ private: { username: 'puller', password: '***', address: 'registry.example' } });
    expect(run.stdout + show.stdout + show.stderr).not.toContain('hunter2-not-printed');
    const stored = (await client()).getConfiguration('private');
    expect(JSON.stringify(await stored)).toContain('hunter2-not-printed');
    expect((await f.mp(['deployment', 'delete', 'private'])).code).toBe(0);
  });
});

describe('modelport deployment list|show|delete', () => {
  it('lists deployments with their metrics, highest priority first', async () => {
    const run = await f.mp(['deployment', 'list', '--json']);
    expect(run.code).toBe(0);
    expect(doc(run).result.map((d: { id: string }) => d.id)).toEqual(['scoring-eu', 'telemetry-layer']);
    const table = await f.mp(['deployment', 'list']);
    expect(table.stdout.split('\n')[0]).toMatch(
      /^ID\s+PRIORITY\s+LAYERED\s+TARGETED\s+APPLIED\s+SUCCESS\s+FAILED\s+TARGET CONDITION$/,
    );
    expect(table.stdout).toMatch(/telemetry-layer\s+5\s+yes\s+2\s+2/);
  });

  it('deletes a deployment; an unknown one is exit 3', async () => {
    const run = await f.mp(['deployment', 'delete', 'telemetry-layer']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Deleted deployment telemetry-layer');
    const gone = await f.mp(['deployment', 'show', 'telemetry-layer', '--json']);
    expect(gone.code).toBe(3);
    expect(doc(gone).error).toMatchObject({
      code: 'DEPLOYMENT_NOT_FOUND',
      message: `IoT Hub ${hub.hostName} has no deployment 'telemetry-layer'`,
    });
    expect((await f.mp(['deployment', 'delete', 'telemetry-layer'])).code).toBe(3);
  });
});

describe('bad input and an unhealthy hub', () => {
  it('refuses an invalid target condition naming its position, before anything is sent', async () => {
    const before = hub.requests().length;
    const run = await f.mp([
      'deploy',
      '--manifest',
      v1,
      '--id',
      'broken',
      '--target-condition',
      "tags.ring='canary' AND",
      '--priority',
      '1',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('invalid --target-condition at character 23');
    expect(run.stderr).toContain("  tags.ring='canary' AND\n");
    expect(hub.requests().length).toBe(before);
  });

  it.each([
    [['--id', 'Bad_ID', '--target-condition', "tags.a='b'", '--priority', '1'], 'DEPLOYMENT_ID_INVALID'],
    [['--id', 'ok', '--target-condition', "tags.a='b'", '--priority', 'high'], 'PRIORITY_INVALID'],
    [['--id', 'ok', '--target-condition', "tags.a='b'"], 'DEPLOY_TARGET_INVALID'],
    [
      ['--id', 'ok', '--device', 'eu-1', '--target-condition', "tags.a='b'", '--priority', '1'],
      'DEPLOY_TARGET_INVALID',
    ],
    [
      [
        '--id',
        'ok',
        '--target-condition',
        "tags.a='b'",
        '--priority',
        '1',
        '--metric',
        'm=SELECT FROM devices',
      ],
      'METRIC_INVALID',
    ],
    [
      ['--id', 'ok', '--target-condition', "tags.a='b'", '--priority', '1', '--label', 'bad'],
      'KEY_VALUE_INVALID',
    ],
  ])('refuses %j with exit 2', async (args, code) => {
    const run = await f.mp(['deploy', '--manifest', v1, ...args, '--json']);
    expect(run.code).toBe(2);
    expect(doc(run).error.code).toBe(code);
  });

  it('exit 5 naming the host when the hub is unreachable', async () => {
    const port = await closedPort();
    const connectionString = hub.serviceConnectionString.replace(
      /HostName=[^;]+/,
      `HostName=localhost:${port}`,
    );
    const run = await f.mp(['deployment', 'list', '--json'], hubEnv(hub, connectionString));
    expect(run.code).toBe(5);
    expect(doc(run).error).toMatchObject({
      code: 'HUB_UNREACHABLE',
      message: `cannot reach IoT Hub localhost:${port}: connection refused (ECONNREFUSED)`,
    });
  });

  it('exit 5 saying the key was refused for a wrong key, and never printing the key', async () => {
    const wrongKey = Buffer.alloc(32, 7).toString('base64');
    const connectionString = hub.serviceConnectionString.replace(
      /SharedAccessKey=.*/,
      `SharedAccessKey=${wrongKey}`,
    );
    const run = await f.mp(
      ['deploy', '--manifest', v1, '--id', 'never', '--target-condition', "tags.a='b'", '--priority', '1'],
      hubEnv(hub, connectionString),
    );
    expect(run.code).toBe(5);
    expect(run.stderr).toContain(
      `IoT Hub ${hub.hostName} refused the key of shared access policy 'iothubowner' (401 Unauthorized)`,
    );
    expect(run.stdout + run.stderr).not.toContain(wrongKey);
    expect(configurationWrites('never')).toBe(0);
  });

  it('exit 5 when the policy may not write deployments', async () => {
    const run = await f.mp(
      [
        'deploy',
        '--manifest',
        v1,
        '--id',
        'readonly',
        '--target-condition',
        "tags.a='b'",
        '--priority',
        '1',
        '--json',
      ],
      hubEnv(hub, hub.serviceConnectionStringFor('registryRead')),
    );
    expect(run.code).toBe(5);
    expect(doc(run).error).toMatchObject({
      code: 'HUB_FORBIDDEN',
      message: expect.stringContaining("does not let policy 'registryRead' create deployment 'readonly'"),
    });
  });

  it('exit 5 when the hub certificate is not trusted (no CA given)', async () => {
    const run = await f.mp(['deployment', 'list', '--json'], { MODELPORT_HUB_CA: '' });
    expect(run.code).toBe(5);
    expect(doc(run).error.code).toBe('HUB_TLS_FAILED');
    expect(doc(run).error.hint).toContain('--hub-ca FILE');
  });

  it('exit 2 without a connection string or with a device connection string', async () => {
    const none = await f.mp(['deployment', 'list'], { MODELPORT_HUB_CONNECTION_STRING: '' });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('pass --hub-connection-string or set MODELPORT_HUB_CONNECTION_STRING');
    const device = await f.mp([
      'deployment',
      'list',
      '--hub-connection-string',
      hub.deviceConnectionString('eu-1'),
    ]);
    expect(device.code).toBe(2);
    expect(device.stderr).toContain('--hub-connection-string is a device connection string');
  });
});
