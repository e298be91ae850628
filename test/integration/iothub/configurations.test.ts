/**
 * Configurations (IoT Edge at-scale and layered deployments) through the real azure-iothub
 * Registry, with a real $edgeAgent ModuleClient receiving what the emulator pushes.
 */
import type { Configuration, Registry } from 'azure-iothub';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type HubEmulator, startHubEmulator } from '../../support/iothub/index.js';
import {
  closeAll,
  deviceClient,
  eventually,
  moduleClient,
  nextDesired,
  registryOf,
  rejectionOf,
  reportProperties,
  untilSubscribed,
} from './sdk-clients.js';

let hub: HubEmulator;
let registry: Registry;
const open: Array<{ close(): Promise<unknown> }> = [];

beforeAll(async () => {
  hub = await startHubEmulator();
  registry = registryOf(hub);
});
afterEach(() => closeAll(open));
afterAll(() => hub.stop());

const agentDesired = (image: string, extra: Record<string, unknown> = {}) => ({
  schemaVersion: '1.1',
  runtime: { type: 'docker', settings: {} },
  systemModules: { edgeAgent: { type: 'docker', settings: { image: 'agent' } } },
  modules: { scoring: { type: 'docker', status: 'running', restartPolicy: 'always', settings: { image } } },
  ...extra,
});

function baseDeployment(id: string, targetCondition: string, priority: number, image: string): Configuration {
  return {
    id,
    schemaVersion: '1.0',
    content: {
      modulesContent: {
        $edgeAgent: { 'properties.desired': agentDesired(image) },
        $edgeHub: {
          'properties.desired': { schemaVersion: '1.1', routes: { up: 'FROM /messages/* INTO $upstream' } },
        },
        scoring: { 'properties.desired': { threshold: 0.5 } },
      },
    },
    targetCondition,
    priority,
    labels: { app: 'scoring' },
  };
}

async function edgeDevice(deviceId: string, tags: Record<string, unknown>): Promise<void> {
  await registry.create({ deviceId, capabilities: { iotEdge: true } });
  await registry.updateTwin(deviceId, { tags }, '*');
}

async function connectAgent(deviceId: string) {
  const agent = await moduleClient(hub, hub.moduleConnectionString(deviceId, '$edgeAgent'));
  open.push(agent);
  await agent.open();
  const twin = await agent.getTwin();
  twin.on('properties.desired', () => {});
  await untilSubscribed(hub, deviceId, '$edgeAgent', 'desired');
  return { agent, twin };
}

/** IoT Hub's twins carry `configurations`, which the SDK's Twin type does not declare. */
const configurationsOf = (twin: object): Record<string, unknown> =>
  (twin as { configurations?: Record<string, unknown> }).configurations ?? {};

const agentTwinOf = async (deviceId: string) =>
  (await registry.getModuleTwin(deviceId, '$edgeAgent')).responseBody;

describe('at-scale deployments', () => {
  it('applies a deployment to the devices its target condition selects and pushes it to $edgeAgent', async () => {
    await edgeDevice('cfg-prod', { environment: 'prod', region: 'eu' });
    await edgeDevice('cfg-dev', { environment: 'dev' });
    await registry.create({ deviceId: 'cfg-plain' });
    await registry.updateTwin('cfg-plain', { tags: { environment: 'prod' } }, '*');
    const { twin } = await connectAgent('cfg-prod');
    const pushed = nextDesired(
      twin,
      (d) => (d.modules as Record<string, unknown> | undefined)?.scoring !== undefined,
    );

    const created = (
      await registry.addConfiguration(
        baseDeployment('scoring-prod', "tags.environment='prod'", 10, 'scoring:1'),
      )
    ).responseBody;
    expect(created).toMatchObject({
      id: 'scoring-prod',
      priority: 10,
      etag: expect.any(String),
      labels: { app: 'scoring' },
    });

    const desired = await pushed;
    expect(desired).toMatchObject({
      schemaVersion: '1.1',
      modules: { scoring: { settings: { image: 'scoring:1' } } },
    });
    expect(
      (await registry.getModuleTwin('cfg-prod', '$edgeHub')).responseBody.properties.desired,
    ).toMatchObject({
      routes: { up: 'FROM /messages/* INTO $upstream' },
    });
    expect((await agentTwinOf('cfg-dev')).properties.desired).not.toHaveProperty('modules');
    expect(configurationsOf((await registry.getTwin('cfg-prod')).responseBody)).toEqual({
      'scoring-prod': { status: 'Applied' },
    });

    const config = (await registry.getConfiguration('scoring-prod')).responseBody;
    expect(config.systemMetrics?.results).toEqual({
      targetedCount: 1,
      appliedCount: 1,
      reportedSuccessfulCount: 0,
      reportedFailedCount: 0,
    });
    expect((await registry.getConfigurations()).responseBody.map((c) => c.id)).toContain('scoring-prod');
  });

  it('counts reported success and custom metrics from what $edgeAgent reports', async () => {
    await edgeDevice('cfg-metrics', { environment: 'metrics' });
    const deployment = baseDeployment('scoring-metrics', "tags.environment='metrics'", 1, 'scoring:2');
    deployment.metrics = {
      queries: {
        running:
          "SELECT deviceId FROM devices.modules WHERE moduleId = '$edgeAgent' AND properties.reported.modules.scoring.runtimeStatus = 'running'",
      },
    };
    await registry.addConfiguration(deployment);
    const { twin } = await connectAgent('cfg-metrics');
    const version = (twin.properties.desired as { $version: number }).$version;
    await reportProperties(twin, {
      lastDesiredVersion: version,
      lastDesiredStatus: { code: 200 },
      modules: { scoring: { runtimeStatus: 'running' } },
    });
    const config = (await registry.getConfiguration('scoring-metrics')).responseBody;
    expect(config.systemMetrics?.results).toMatchObject({
      appliedCount: 1,
      reportedSuccessfulCount: 1,
      reportedFailedCount: 0,
    });
    expect(config.metrics?.results).toEqual({ running: 1 });
    // The system metrics' own queries, run as IoT Hub queries, select the devices they count.
    for (const [name, query] of Object.entries(config.systemMetrics?.queries ?? {})) {
      const selected = (await registry.createQuery(query).next()).result as Array<{ deviceId: string }>;
      expect(new Set(selected.map((d) => d.deviceId)).size, name).toBe(config.systemMetrics?.results?.[name]);
    }

    await reportProperties(twin, { lastDesiredStatus: { code: 400 } });
    const failed = (await registry.getConfiguration('scoring-metrics')).responseBody;
    expect(failed.systemMetrics?.results).toMatchObject({
      reportedSuccessfulCount: 0,
      reportedFailedCount: 1,
    });
  });

  it('picks the higher priority, and falls back to the next deployment when it is deleted', async () => {
    await edgeDevice('cfg-prio', { ring: 'canary' });
    await registry.addConfiguration(baseDeployment('prio-low', "tags.ring='canary'", 1, 'scoring:low'));
    await registry.addConfiguration(
      baseDeployment('prio-high', "tags.ring IN ['canary', 'beta']", 5, 'scoring:high'),
    );
    expect((await agentTwinOf('cfg-prio')).properties.desired).toMatchObject({
      modules: { scoring: { settings: { image: 'scoring:high' } } },
    });
    expect(configurationsOf((await registry.getTwin('cfg-prio')).responseBody)).toEqual({
      'prio-low': { status: 'Targeted' },
      'prio-high': { status: 'Applied' },
    });
    const { twin } = await connectAgent('cfg-prio');
    const fallback = nextDesired(twin, (d) => JSON.stringify(d).includes('scoring:low'));
    await registry.removeConfiguration('prio-high');
    expect(await fallback).toMatchObject({ modules: { scoring: { settings: { image: 'scoring:low' } } } });
    const low = (await registry.getConfiguration('prio-low')).responseBody;
    expect(low.systemMetrics?.results).toMatchObject({ targetedCount: 1, appliedCount: 1 });
  });

  it('re-targets when tags or reported properties change, and keeps the last desired when nothing targets', async () => {
    await edgeDevice('cfg-move', { stage: 'a' });
    await registry.addConfiguration(
      baseDeployment(
        'by-reported',
        "properties.reported.os = 'linux' AND tags.stage = 'b'",
        2,
        'scoring:reported',
      ),
    );
    expect(configurationsOf(await agentTwinOf('cfg-move'))).toEqual({});
    await registry.updateTwin('cfg-move', { tags: { stage: 'b' } }, '*');
    expect((await agentTwinOf('cfg-move')).properties.desired).not.toHaveProperty('modules');

    // Reported properties of the device twin come from a device connection.
    const deviceConn = await deviceClient(hub, hub.deviceConnectionString('cfg-move'));
    open.push(deviceConn);
    await deviceConn.open();
    await reportProperties(await deviceConn.getTwin(), { os: 'linux' });
    await eventually(async () =>
      expect((await agentTwinOf('cfg-move')).properties.desired).toMatchObject({
        modules: { scoring: { settings: { image: 'scoring:reported' } } },
      }),
    );

    await registry.updateTwin('cfg-move', { tags: { stage: 'c' } }, '*');
    const after = await agentTwinOf('cfg-move');
    expect(configurationsOf(after)).toEqual({});
    expect(after.properties.desired).toMatchObject({
      modules: { scoring: { settings: { image: 'scoring:reported' } } },
    });
  });
  it('targets a device once it becomes an IoT Edge device', async () => {
    await registry.create({ deviceId: 'cfg-late-edge' });
    await registry.updateTwin('cfg-late-edge', { tags: { environment: 'late' } }, '*');
    await registry.addConfiguration(
      baseDeployment('late-edge', "tags.environment='late'", 1, 'scoring:late'),
    );
    expect(configurationsOf((await registry.getTwin('cfg-late-edge')).responseBody)).toEqual({});
    const device = (await registry.get('cfg-late-edge')).responseBody;
    await registry.update({ ...device, capabilities: { iotEdge: true } });
    expect((await agentTwinOf('cfg-late-edge')).properties.desired).toMatchObject({
      modules: { scoring: { settings: { image: 'scoring:late' } } },
    });
  });
});

describe('layered deployments', () => {
  it('merges layers over the base and gives module twins their desired properties when the module exists', async () => {
    await edgeDevice('cfg-layer', { site: 'plant-7' });
    await registry.addConfiguration(baseDeployment('layer-base', "tags.site='plant-7'", 1, 'scoring:base'));
    await registry.addConfiguration({
      id: 'layer-extra',
      schemaVersion: '1.0',
      content: {
        modulesContent: {
          $edgeAgent: {
            'properties.desired.modules.collector': {
              type: 'docker',
              status: 'running',
              settings: { image: 'collector:1' },
            },
          },
          $edgeHub: {
            'properties.desired.routes.collector': 'FROM /messages/modules/collector/* INTO $upstream',
          },
          collector: { 'properties.desired': { sampleRate: 10 } },
        },
      },
      targetCondition: "tags.site='plant-7'",
      priority: 3,
    });

    const agent = (await agentTwinOf('cfg-layer')).properties.desired;
    expect(agent.modules).toMatchObject({
      scoring: { settings: { image: 'scoring:base' } },
      collector: { settings: { image: 'collector:1' } },
    });
    const edgeHub = (await registry.getModuleTwin('cfg-layer', '$edgeHub')).responseBody.properties.desired;
    expect(edgeHub.routes).toEqual({
      up: 'FROM /messages/* INTO $upstream',
      collector: 'FROM /messages/modules/collector/* INTO $upstream',
    });
    expect(configurationsOf((await registry.getTwin('cfg-layer')).responseBody)).toEqual({
      'layer-base': { status: 'Applied' },
      'layer-extra': { status: 'Applied' },
    });

    await registry.addModule({ deviceId: 'cfg-layer', moduleId: 'collector' });
    expect(
      (await registry.getModuleTwin('cfg-layer', 'collector')).responseBody.properties.desired,
    ).toMatchObject({
      sampleRate: 10,
    });
  });
});

describe('updates and refusals', () => {
  it('updates targetCondition and priority with the etag, refusing a stale etag and a content change', async () => {
    await edgeDevice('cfg-upd', { group: 'one' });
    const created = (
      await registry.addConfiguration(baseDeployment('upd', "tags.group='none'", 1, 'scoring:u'))
    ).responseBody;
    expect((await agentTwinOf('cfg-upd')).properties.desired).not.toHaveProperty('modules');

    const updated = (
      await registry.updateConfiguration({ ...created, targetCondition: "tags.group='one'", priority: 4 })
    ).responseBody;
    expect(updated).toMatchObject({ priority: 4, targetCondition: "tags.group='one'" });
    expect(updated.etag).not.toBe(created.etag);
    expect((await agentTwinOf('cfg-upd')).properties.desired).toMatchObject({
      modules: { scoring: { settings: { image: 'scoring:u' } } },
    });

    const stale = await rejectionOf(registry.updateConfiguration({ ...created, priority: 9 }));
    expect(stale.name).toBe('InvalidEtagError');
    expect(stale.response?.statusCode).toBe(412);

    const changed = baseDeployment('upd', "tags.group='one'", 4, 'scoring:other');
    const contentChange = await rejectionOf(registry.updateConfiguration({ ...changed, etag: updated.etag }));
    expect(contentChange.name).toBe('ArgumentError');
    expect(contentChange.message).toContain("The content of configuration 'upd' cannot be updated");
    const forced = (await registry.updateConfiguration({ ...updated, labels: { v: '2' } }, true))
      .responseBody;
    expect(forced.labels).toEqual({ v: '2' });
  });

  it.each([
    ['a syntax error', "tags.environment='prod", 'Invalid target condition'],
    ['a desired property', "properties.desired.x = 'y'", "'properties.desired.x' is not allowed"],
    ['an unknown function', "LOWER(tags.x) = 'y'", 'Expected a comparison operator'],
  ])('refuses a target condition with %s with 400', async (_case, targetCondition, message) => {
    const error = await rejectionOf(
      registry.addConfiguration(baseDeployment('bad-cond', targetCondition, 1, 'x')),
    );
    expect(error.name).toBe('ArgumentError');
    expect(error.response?.statusCode).toBe(400);
    expect(error.message).toContain(message);
  });

  it('refuses a duplicate id (409), an invalid id, a bad metric query and an oversized module twin (400)', async () => {
    await registry.addConfiguration(baseDeployment('dup', '*', 1, 'x'));
    const duplicate = await rejectionOf(registry.addConfiguration(baseDeployment('dup', '*', 1, 'x')));
    expect(duplicate.response?.statusCode).toBe(409);
    expect(duplicate.responseBody).toContain('ErrorCode:ConfigurationAlreadyExists');
    const badId = await rejectionOf(registry.addConfiguration(baseDeployment('Has Spaces', '*', 1, 'x')));
    expect(badId.message).toContain("Configuration id 'Has Spaces' is invalid");
    const badMetric = baseDeployment('bad-metric', '*', 1, 'x');
    badMetric.metrics = { queries: { m: 'SELECT deviceId FROM somewhere' } };
    expect((await rejectionOf(registry.addConfiguration(badMetric))).message).toContain(
      "Invalid metric query 'm'",
    );
    const huge = baseDeployment('huge', '*', 1, 'x');
    (huge.content?.modulesContent as Record<string, unknown>).scoring = {
      'properties.desired': { createOptions: 'x'.repeat(5000) },
    };
    expect((await rejectionOf(registry.addConfiguration(huge))).message).toContain(
      'is a string over 4096 bytes',
    );
    const missing = await rejectionOf(registry.removeConfiguration('no-such-config'));
    expect(missing.response?.statusCode).toBe(404);
    expect(missing.responseBody).toContain('ErrorCode:ConfigurationNotFound');
  });
});

describe('applyConfigurationContentOnDevice', () => {
  it('sets the modules of one edge device and pushes them to its $edgeAgent', async () => {
    await edgeDevice('cfg-single', {});
    const { twin } = await connectAgent('cfg-single');
    const pushed = nextDesired(twin, (d) => JSON.stringify(d).includes('scoring:single'));
    await registry.applyConfigurationContentOnDevice('cfg-single', {
      modulesContent: {
        $edgeAgent: { 'properties.desired': agentDesired('scoring:single') },
        $edgeHub: { 'properties.desired': { schemaVersion: '1.1', routes: {} } },
      },
    });
    expect(await pushed).toMatchObject({ modules: { scoring: { settings: { image: 'scoring:single' } } } });
    expect(
      (await registry.getModuleTwin('cfg-single', '$edgeHub')).responseBody.properties.desired,
    ).toMatchObject({
      schemaVersion: '1.1',
    });
  });

  it('refuses a device that is not an edge device, and an unknown device', async () => {
    await registry.create({ deviceId: 'cfg-not-edge' });
    const content = { modulesContent: { $edgeAgent: { 'properties.desired': agentDesired('x') } } };
    const notEdge = await rejectionOf(registry.applyConfigurationContentOnDevice('cfg-not-edge', content));
    expect(notEdge.name).toBe('ArgumentError');
    expect(notEdge.message).toContain("Device 'cfg-not-edge' is not an IoT Edge device");
    const unknown = await rejectionOf(registry.applyConfigurationContentOnDevice('cfg-nobody', content));
    expect(unknown.name).toBe('DeviceNotFoundError');
  });
});
