/**
 * Hub mode end to end: an at-scale deployment created with `modelport deploy` reaches the agent over
 * MQTT-TLS (the IoT Hub emulator, real azure-iot-device-mqtt), ends in a running container built by
 * `modelport package` that answers `/score`; the reported properties and the direct methods are read
 * through the service SDK. Then, with the hub gone, a restarted agent resumes from SQLite alone.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry, Client as ServiceClient } from 'azure-iothub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeployment } from '../../../manifests/index.js';
import { runModelport } from '../../support/cli.js';
import { dockerClient, engineInfo, freePort } from '../../support/engine/helpers.js';
import { GUIDE_SAMPLE, regression10Expected } from '../../support/fixture-reference.js';
import { type HubEmulator, startHubEmulator } from '../../support/iothub/index.js';
import { tempDir } from '../../support/tmp.js';
import { registerFixtures, removeImages, runPackage } from '../package/helpers.js';
import {
  type AgentRun,
  managedContainers,
  moduleOf,
  readReported,
  removeAgentContainers,
  startAgent,
  waitForReported,
} from './support.js';

const RUN = randomBytes(4).toString('hex');
const DEVICE = `edge-${RUN}`;
const MODULE = `scorer-${RUN}`;
const docker = dockerClient();
const tmp = tempDir('agent-hub');
const home = join(tmp.path, 'agent-home');
let hub: HubEmulator;
let agent: AgentRun | undefined;
let image = '';
let env: NodeJS.ProcessEnv = {};

beforeAll(async () => {
  const info = engineInfo();
  env = await registerFixtures(join(tmp.path, 'modelport-home'), ['regression10']);
  image = `${info.registry}/modelport-agent-e2e-${RUN}/regression10:1`;
  const packaged = await runPackage(
    ['--model', 'regression10:1', '--image', image, '--base-image', info.baseImage, '--push'],
    env,
  );
  expect(packaged.code, packaged.stdout + packaged.stderr).toBe(0);
  // The device pulls it from the registry, as a real gateway would. `noprune`: the parent layers are
  // build cache that a build in a parallel test file may be using right now.
  await docker.getImage(image).remove({ noprune: true });
  hub = await startHubEmulator();
  hub.createDevice(DEVICE, { edge: true });
  hub.updateTwin(DEVICE, undefined, { tags: { environment: `e2e-${RUN}` } });
}, 600_000);

afterAll(async () => {
  await agent?.stop();
  await hub?.stop();
  await removeAgentContainers(docker, DEVICE);
  await removeImages(docker, [image]);
  tmp.cleanup();
});

const agentTwin = async () =>
  (
    await hub
      .configureServiceClient(Registry.fromConnectionString(hub.serviceConnectionString))
      .getModuleTwin(DEVICE, '$edgeAgent')
  ).responseBody as unknown as {
    // biome-ignore lint/suspicious/noExplicitAny: the test indexes into the reported document of any shape
    properties: { desired: Record<string, unknown>; reported: Record<string, any> };
  };

async function postScore(port: number): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${port}/score`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ data: GUIDE_SAMPLE }),
  });
  return { status: res.status, body: await res.json() };
}

describe('modelport-agent --connection-string (IoT Hub emulator)', () => {
  it('applies an at-scale deployment from `modelport deploy`, reports, answers methods, and resumes offline', async () => {
    const port = await freePort();
    agent = startAgent({
      home,
      agentId: DEVICE,
      connectionString: hub.moduleConnectionString(DEVICE, '$edgeAgent'),
      ca: hub.caPath,
      args: ['--health-window', '90'],
    });
    // Before any deployment: connected, ConfigEmptyError reported.
    await expect
      .poll(() => hub.subscriptions(DEVICE, '$edgeAgent').includes('desired'), { timeout: 30_000 })
      .toBe(true);

    const manifest = join(tmp.path, 'deployment.json');
    writeFileSync(
      manifest,
      JSON.stringify(
        buildDeployment({
          modules: {
            [MODULE]: {
              image,
              version: '1',
              env: { MODELPORT_PORT: port },
              createOptions: {
                HostConfig: { NetworkMode: 'host' },
                // The image's HEALTHCHECK, checked every second instead of every 30 s.
                Healthcheck: {
                  Test: [
                    'CMD',
                    'node',
                    '-e',
                    "fetch('http://127.0.0.1:'+process.env.MODELPORT_PORT+'/').then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))",
                  ],
                  Interval: 1_000_000_000,
                  Timeout: 5_000_000_000,
                  Retries: 3,
                },
              },
            },
          },
          registryCredentials: { e2e: { address: engineInfo().registry, username: 'e2e', password: 'e2e' } },
        }),
      ),
    );
    const deployed = await runModelport(
      [
        'deploy',
        '--hub-connection-string',
        hub.serviceConnectionString,
        '--hub-ca',
        hub.caPath,
        '--manifest',
        manifest,
        '--id',
        `e2e-${RUN}`,
        '--target-condition',
        `tags.environment='e2e-${RUN}'`,
        '--priority',
        '10',
        '--json',
      ],
      env,
    );
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);

    const reported = await waitForReported(
      home,
      (r) => r.lastDesiredStatus?.code === 200 && r.modules?.[MODULE]?.runtimeStatus === 'running',
      180_000,
      agent,
    );
    const scored = await postScore(port);
    expect(scored.status).toBe(200);
    const expected = regression10Expected(GUIDE_SAMPLE);
    for (const [i, row] of (scored.body as number[][]).entries()) {
      expect(row[0]).toBeCloseTo(expected[i] ?? Number.NaN, 4);
    }

    // Reported properties, read back through the service SDK: the same document, only diffs sent.
    await expect
      .poll(async () => (await agentTwin()).properties.reported.lastDesiredStatus?.code, { timeout: 30_000 })
      .toBe(200);
    const twin = await agentTwin();
    expect(twin.properties.reported.lastDesiredVersion).toBe(twin.properties.desired['$version']);
    expect(twin.properties.reported.lastDesiredVersion).toBe(reported.lastDesiredVersion);
    expect(twin.properties.reported.modules[MODULE]).toMatchObject({
      runtimeStatus: 'running',
      status: 'running',
      version: '1',
      restartPolicy: 'always',
      settings: { image },
    });
    expect(twin.properties.reported.systemModules.edgeAgent.runtimeStatus).toBe('running');
    expect(twin.properties.reported.modelport.inventory).toMatchObject({ arch: process.arch });
    expect(twin.properties.reported.modelport.inventory.cpu.cores).toBeGreaterThan(0);
    expect(agent.logs()).toMatch(/"event":"report-sent"/);

    // Direct methods in edgeAgent's shapes, through the service SDK.
    const service = hub.configureServiceClient(
      ServiceClient.fromConnectionString(hub.serviceConnectionString),
    );
    const ping = await service.invokeDeviceMethod(DEVICE, '$edgeAgent', {
      methodName: 'ping',
      payload: null,
    });
    expect(ping.result).toEqual({ status: 200, payload: null });
    const logs = await service.invokeDeviceMethod(DEVICE, '$edgeAgent', {
      methodName: 'GetModuleLogs',
      payload: {
        schemaVersion: '1.0',
        items: [{ id: MODULE, filter: { tail: 50 } }],
        encoding: 'none',
        contentType: 'text',
      },
    });
    expect(logs.result.status).toBe(200);
    const [entry] = logs.result.payload as { id: string; payload: string }[];
    expect(entry?.id).toBe(MODULE);
    expect(entry?.payload).toMatch(/listening/);
    const before = (await managedContainers(docker, DEVICE)).find((c) => moduleOf(c) === MODULE);
    const restart = await service.invokeDeviceMethod(DEVICE, '$edgeAgent', {
      methodName: 'RestartModule',
      payload: { schemaVersion: '1.0', id: MODULE },
    });
    expect(restart.result).toEqual({ status: 200, payload: null });
    const after = (await managedContainers(docker, DEVICE)).find((c) => moduleOf(c) === MODULE);
    expect(after?.Id).toBe(before?.Id);
    expect(Date.parse(after?.State.StartedAt ?? '')).toBeGreaterThan(
      Date.parse(before?.State.StartedAt ?? ''),
    );
    const unknown = await service.invokeDeviceMethod(DEVICE, '$edgeAgent', {
      methodName: 'RestartModule',
      payload: { schemaVersion: '1.0', id: 'no-such-module' },
    });
    expect(unknown.result).toEqual({
      status: 404,
      payload: { message: "module 'no-such-module' is not in the current deployment" },
    });

    // Offline: the agent stops, the hub goes away, the module's container is lost; a restarted agent
    // re-applies the stored deployment from SQLite and converges with no hub at all.
    expect(await agent.stop()).toBe(0);
    await hub.stop();
    if (after) await docker.getContainer(after.Id).remove({ force: true });
    agent = startAgent({
      home,
      agentId: DEVICE,
      connectionString: hub.moduleConnectionString(DEVICE, '$edgeAgent'),
      ca: hub.caPath,
      args: ['--health-window', '90'],
    });
    await expect
      .poll(
        async () =>
          (await managedContainers(docker, DEVICE)).filter((c) => moduleOf(c) === MODULE && c.State.Running)
            .length,
        {
          timeout: 120_000,
        },
      )
      .toBe(1)
      .catch((e: Error) => {
        // The restarted agent's own account is what explains a miss here.
        throw new Error(`${e.message}\nagent log tail:\n${agent?.logs().split('\n').slice(-40).join('\n')}`);
      });
    await expect
      .poll(async () => (await postScore(port).catch(() => ({ status: 0 }))).status, { timeout: 120_000 })
      .toBe(200);
    expect(agent.logs()).toMatch(/cannot connect to IoT Hub/);
    expect(readReported(home)?.lastDesiredStatus?.code).toBe(200);

    // The hub comes back: the agent reconnects by itself and reports what changed meanwhile.
    await hub.start();
    await expect
      .poll(async () => (await agentTwin()).properties.reported.modules?.[MODULE]?.lastStartTimeUtc, {
        timeout: 120_000,
      })
      .toBe(readReported(home)?.modules?.[MODULE]?.lastStartTimeUtc);
  });
});
