/**
 * `modelport watch --hub-connection-string` on the IoT Hub emulator (real azure-iothub REST): each
 * rollout is a new at-scale deployment with a higher priority, labelled as the watch's, that reaches
 * the targeted device's twin; repeats create nothing; `--remove-previous` retires the old one; with
 * the hub down nothing is recorded and the next attempt deploys; `--layered` deploys layers.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runModelport } from '../../support/cli.js';
import { type HubEmulator, startHubEmulator } from '../../support/iothub/index.js';
import { tempDir } from '../../support/tmp.js';
import { agentDesired, edgeDevices } from '../fleet/helpers.js';
import { expectOk, registerVersion } from './helpers.js';

const tmp = tempDir('watch-hub');
const home = join(tmp.path, 'home');
const DEVICE = 'watch-edge-1';
let hub: HubEmulator;
let caCopy = '';

beforeAll(async () => {
  hub = await startHubEmulator();
  edgeDevices(hub, { [DEVICE]: { env: 'watch-test' }, 'other-edge': { env: 'prod' } });
  // The emulator deletes its CA file while stopped; the CLI keeps trusting this copy.
  caCopy = join(tmp.path, 'hub-ca.pem');
  copyFileSync(hub.caPath, caCopy);
  expectOk(await registerVersion(home, 'regression', 1));
});

afterAll(async () => {
  await hub?.stop();
  hub?.httpsAgent.destroy();
  tmp.cleanup();
});

function spec(name: string, extra = ''): string {
  const path = join(tmp.path, `${name}.yaml`);
  writeFileSync(
    path,
    [
      `name: ${name}`,
      'modules:',
      '  scorer:',
      '    image: registry.test/scoring:fixed',
      '    models: ["regression:latest"]',
      'rollout:',
      '  targetCondition: "tags.env=\'watch-test\'"',
      '  priority: 20',
      extra,
    ].join('\n'),
  );
  return path;
}

const watchOnce = (specPath: string, args: string[] = []) =>
  runModelport(
    [
      'watch',
      '--spec',
      specPath,
      '--hub-connection-string',
      hub.serviceConnectionString,
      '--hub-ca',
      caCopy,
      '--once',
      '--json',
      ...args,
    ],
    { MODELPORT_HOME: home },
  );

interface Summary {
  id: string;
  priority: number;
  labels: Record<string, string>;
  layered: boolean;
}

async function deployments(): Promise<Summary[]> {
  const run = await runModelport(['deployment', 'list', '--json'], {
    MODELPORT_HUB_CONNECTION_STRING: hub.serviceConnectionString,
    MODELPORT_HUB_CA: caCopy,
  });
  expectOk(run);
  return run.json().result as Summary[];
}

const modelDir = () =>
  agentDesired(hub, DEVICE).modules?.scorer?.env?.AZUREML_MODEL_DIR?.value as string | undefined;

describe('modelport watch --hub-connection-string', () => {
  const fleetSpec = () => join(tmp.path, 'hub-fleet.yaml');

  it('creates a labelled at-scale deployment that reaches the targeted device; a repeat creates nothing', async () => {
    spec('hub-fleet');
    const run = await watchOnce(fleetSpec());
    expectOk(run);
    const result = run.json().result;
    expect(result.outcome).toBe('deployed');
    const id = result.applied.deploymentId as string;
    expect(id).toBe(`hub-fleet-${(result.rollout.key as string).slice(0, 12)}`);
    expect(result.applied).toMatchObject({ priority: 20, outcome: 'created', removed: [] });
    expect(await deployments()).toMatchObject([
      {
        id,
        priority: 20,
        layered: false,
        labels: { 'modelport.watch': 'hub-fleet', 'modelport.rollout': id.slice(-12) },
      },
    ]);
    expect(modelDir()).toBe('/var/azureml-app/azureml-models/regression/1');
    expect(agentDesired(hub, 'other-edge').modules?.scorer).toBeUndefined();

    const again = await watchOnce(fleetSpec());
    expectOk(again);
    expect(again.json().result.outcome).toBe('unchanged');
    expect((await deployments()).map((d) => d.id)).toEqual([id]);
  });

  it('rolls a new version out as a new deployment one priority higher, removing the previous one when asked', async () => {
    const [previous] = await deployments();
    expectOk(await registerVersion(home, 'regression', 2));
    const run = await watchOnce(fleetSpec(), ['--remove-previous']);
    expectOk(run);
    const applied = run.json().result.applied;
    expect(applied).toMatchObject({ priority: 21, outcome: 'created', removed: [previous?.id] });
    expect((await deployments()).map((d) => [d.id, d.priority])).toEqual([[applied.deploymentId, 21]]);
    expect(modelDir()).toBe('/var/azureml-app/azureml-models/regression/2');
  });

  it('records nothing while the hub is down (exit 5); the next run deploys', async () => {
    expectOk(await registerVersion(home, 'regression', 3));
    await hub.stop();
    try {
      const down = await watchOnce(fleetSpec(), ['--timeout', '3']);
      expect(down.code).toBe(5);
      expect(down.json().error?.code).toMatch(/^HUB_/);
      expect(down.stderr).toMatch(/"event":"step-failed".*"step":"apply:/);
    } finally {
      await hub.start();
    }
    const run = await watchOnce(fleetSpec());
    expectOk(run);
    expect(run.json().result).toMatchObject({ outcome: 'deployed', applied: { priority: 22 } });
    expect(modelDir()).toBe('/var/azureml-app/azureml-models/regression/3');
  });

  it('deploys layered deployments with --layered', async () => {
    spec('hub-layer', '  layered: true');
    const run = await watchOnce(join(tmp.path, 'hub-layer.yaml'));
    expectOk(run);
    const id = run.json().result.applied.deploymentId as string;
    expect((await deployments()).find((d) => d.id === id)).toMatchObject({
      layered: true,
      labels: { 'modelport.watch': 'hub-layer' },
    });
  });
});
