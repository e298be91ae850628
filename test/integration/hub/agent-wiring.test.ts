/**
 * The agent's composition with its edge services, in-process and without Docker (the engine socket
 * points nowhere; nothing here needs containers): configuration → local hub → module environments,
 * `$edgeHub` desired properties from the manifest file or the `$edgeHub` twin, upstream through the
 * one IoT Hub connection of an identity, and the `$edgeHub` reported properties (twin and file),
 * `systemModules.edgeHub` and the metrics snapshot.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModuleClient } from 'azure-iot-device';
import Docker from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../../agent/agent.js';
import { resolveConfig } from '../../../agent/config.js';
import { EDGEHUB_REPORTED_FILE, METRICS_SNAPSHOT_FILE } from '../../../agent/hub/edge-reporting.js';
import type { EdgeServices } from '../../../agent/hub/edge-services.js';
import { startEdgeServicesFor } from '../../../agent/hub/from-config.js';
import { createLogger, silentLogger } from '../../../common/logger.js';
import { buildDeployment } from '../../../manifests/index.js';
import { type HubEmulator, startHubEmulator } from '../../support/iothub/index.js';
import { tempDir } from '../../support/tmp.js';
import { closeQuietly, fromEnvironment, jsonMessage } from './harness.js';

const DEVICE = 'edge-wiring';
const quiet = { writeOut: () => undefined, writeErr: () => undefined };

interface Running {
  home: string;
  services: EdgeServices;
  agent: Agent;
  stop(): Promise<void>;
}

const cleanups: Array<() => unknown> = [];
let iothub: HubEmulator | undefined;
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await iothub?.stop();
  iothub = undefined;
});

/** Starts services + agent the way agent/main.ts does, on a home that may hold an earlier run. */
async function startAgent(argv: string[], home: string): Promise<Running> {
  const config = resolveConfig(
    [...argv, '--home', home, '--interval', '1', '--telemetry-interval', '0', '--log-level', 'silent'],
    {},
    '0.0.0-test',
    quiet,
  );
  // No engine: the deployment waits for Docker, which none of these checks need.
  const docker = new Docker({ socketPath: join(home, 'no-engine.sock') });
  // DEBUG_WIRING=1 shows the agent's log while a test runs.
  const log = process.env.DEBUG_WIRING ? createLogger({ name: 'wiring', level: 'debug' }) : silentLogger();
  const services = await startEdgeServicesFor(config, { docker, log });
  const agent = new Agent({ config, logger: log, docker, edgeServices: services });
  const shutdown = new AbortController();
  const running = agent.run(shutdown.signal);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    shutdown.abort();
    await running;
    await services.stop();
  };
  cleanups.push(stop);
  return { home, services, agent, stop };
}

async function moduleClient(services: EdgeServices, moduleId: string): Promise<ModuleClient> {
  const { env } = services.moduleEnvironment.forModule(moduleId);
  // The test runs on the host: the CA is read from the agent home, not the container path.
  const client = await fromEnvironment({ ...env, EdgeModuleCACertificateFile: services.hub.caPath });
  cleanups.push(() => closeQuietly([client]));
  await client.open();
  return client;
}

function writeManifest(path: string, routes: Record<string, string>): void {
  const manifest = buildDeployment({
    modules: { scoring: { image: 'registry.test/scoring:1' } },
    routes,
    moduleTwins: { scoring: { collect: { rate: 1 } } },
  });
  writeFileSync(path, JSON.stringify(manifest));
}

// biome-ignore lint/suspicious/noExplicitAny: reported documents are read by path in assertions
const reportedTwin = (hub: HubEmulator, moduleId: string): Record<string, any> =>
  (hub.twin(DEVICE, moduleId) as { properties: { reported: Record<string, unknown> } }).properties.reported;

// biome-ignore lint/suspicious/noExplicitAny: as above, for the files the agent writes
const readJson = (path: string): Record<string, any> | undefined => {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    // Read between two writes of the same file would be a bug (they are renamed into place), but a
    // poll may race the very first write's rename on some file systems: read again on the next poll.
    return undefined;
  }
};

describe('agent + edge services, offline (manifest) with a $edgeHub identity for upstream', () => {
  it('routes a module message upstream, reports $edgeHub (twin and file), keeps routes that parsed when new ones do not', async () => {
    iothub = await startHubEmulator();
    iothub.createDevice(DEVICE, { edge: true });
    const tmp = tempDir('agent-wiring');
    cleanups.push(tmp.cleanup);
    const manifest = join(tmp.path, 'deployment.json');
    writeManifest(manifest, { collect: 'FROM /messages/modules/scoring/outputs/collect INTO $upstream' });
    const home = join(tmp.path, 'home');
    const run = await startAgent(
      [
        '--manifest',
        manifest,
        '--edgehub-connection-string',
        iothub.moduleConnectionString(DEVICE, '$edgeHub'),
        '--ca',
        iothub.caPath,
      ],
      home,
    );
    // Module connection strings name the IoT Hub and device of the $edgeHub identity.
    const { env, binds } = run.services.moduleEnvironment.forModule('scoring');
    expect(env.EdgeHubConnectionString).toMatch(
      new RegExp(
        `^HostName=${iothub.hostName};GatewayHostName=localhost:${run.services.hub.port};DeviceId=${DEVICE};ModuleId=scoring;`,
      ),
    );
    expect(binds).toEqual([`${run.services.hub.caPath}:/modelport/edge-hub-ca.pem:ro`]);
    await expect.poll(() => run.services.hub.metrics().routes, { timeout: 20_000 }).toEqual(['collect']);

    const scoring = await moduleClient(run.services, 'scoring');
    await scoring.sendOutputEvent('collect', await jsonMessage({ requestId: 'req-1' }, {}, 'req-1'));
    const [arrived] = await iothub.waitForMessages({ deviceId: DEVICE, moduleId: '$edgeHub' }, 1, 30_000);
    expect(arrived?.systemProperties).toMatchObject({ messageId: 'req-1', outputName: 'collect' });
    expect(arrived?.appProperties).toMatchObject({ type: 'collect', module: 'scoring', output: 'collect' });

    // $edgeHub reported properties: on its twin (only IoT Hub's view) and in the home.
    await expect
      .poll(() => reportedTwin(iothub as HubEmulator, '$edgeHub').clients, { timeout: 20_000 })
      .toEqual({ [`${DEVICE}/scoring`]: { status: 'Connected' } });
    expect(reportedTwin(iothub, '$edgeHub')).toMatchObject({
      schemaVersion: JSON.parse(readFileSync(manifest, 'utf8')).modulesContent.$edgeHub['properties.desired']
        .schemaVersion,
      lastDesiredStatus: { code: 200, description: '' },
      storeAndForward: { status: 'ok', expired: 0, evicted: 0, rejected: 0 },
    });
    await expect
      .poll(() => readJson(join(home, EDGEHUB_REPORTED_FILE))?.clients, { timeout: 10_000 })
      .toEqual({ [`${DEVICE}/scoring`]: { status: 'Connected' } });
    await expect
      // metrics.json is rewritten at most every 30 s (flash wear): the change shows within that.
      .poll(() => readJson(join(home, METRICS_SNAPSHOT_FILE))?.outbox?.totals?.sent, { timeout: 45_000 })
      .toBe(1);
    expect(readJson(join(home, METRICS_SNAPSHOT_FILE))).toMatchObject({
      hub: { received: 1, routed: 1, routes: ['collect'] },
      upstream: { endpoint: '$upstream', delivered: 1 },
    });

    // A manifest whose route does not parse: 400 with the reason; the previous route still works.
    writeManifest(manifest, { broken: 'FROM /messages/* INTO upstream' });
    await expect
      .poll(() => reportedTwin(iothub as HubEmulator, '$edgeHub').lastDesiredStatus?.code, {
        timeout: 20_000,
      })
      .toBe(400);
    expect(reportedTwin(iothub, '$edgeHub').lastDesiredStatus.description).toMatch(
      /route 'broken': unknown sink 'upstream'/,
    );
    await expect
      .poll(() => readJson(join(home, EDGEHUB_REPORTED_FILE))?.lastDesiredStatus?.code, { timeout: 10_000 })
      .toBe(400);
    expect(run.services.hub.metrics().routes).toEqual(['collect']);
    await scoring.sendOutputEvent('collect', await jsonMessage({ requestId: 'req-2' }, {}, 'req-2'));
    await iothub.waitForMessages((m) => m.systemProperties.messageId === 'req-2', 1, 30_000);
  });
});

describe('agent + edge services, hub mode', () => {
  it('follows the $edgeHub twin, sends through $edgeHub, and keeps its last routes across a restart while IoT Hub is away', async () => {
    iothub = await startHubEmulator();
    iothub.createDevice(DEVICE, { edge: true });
    iothub.updateTwin(DEVICE, '$edgeHub', {
      properties: {
        desired: {
          schemaVersion: '1.1',
          routes: { up: 'FROM /messages/modules/scoring/outputs/* INTO $upstream' },
          storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
        },
      },
    });
    const tmp = tempDir('agent-wiring');
    cleanups.push(tmp.cleanup);
    const home = join(tmp.path, 'home');
    const argv = [
      '--connection-string',
      iothub.moduleConnectionString(DEVICE, '$edgeAgent'),
      '--edgehub-connection-string',
      iothub.moduleConnectionString(DEVICE, '$edgeHub'),
      '--ca',
      iothub.caPath,
    ];
    const first = await startAgent(argv, home);
    await expect.poll(() => first.services.hub.metrics().routes, { timeout: 30_000 }).toEqual(['up']);
    await expect
      .poll(() => reportedTwin(iothub as HubEmulator, '$edgeHub').lastDesiredVersion, { timeout: 20_000 })
      .toBe(
        (iothub.twin(DEVICE, '$edgeHub') as { properties: { desired: { $version: number } } }).properties
          .desired.$version,
      );
    const port = first.services.hub.port;
    await first.stop();

    // IoT Hub away: the restarted agent routes with the routes it stored, and the hub keeps its port.
    await iothub.stop();
    const second = await startAgent(argv, home);
    expect(second.services.hub.port).toBe(port);
    expect(second.services.hub.metrics().routes).toEqual(['up']);
    const scoring = await moduleClient(second.services, 'scoring');
    await scoring.sendOutputEvent('results', await jsonMessage({ y: 1 }, {}, 'offline-1'));
    expect(second.services.outbox.metrics().queued.count).toBe(1);
    await iothub.start();
    const [arrived] = await iothub.waitForMessages(
      (m) => m.systemProperties.messageId === 'offline-1',
      1,
      90_000,
    );
    expect(arrived?.moduleId).toBe('$edgeHub');
    expect(arrived?.appProperties).toMatchObject({ type: 'telemetry', module: 'scoring', output: 'results' });
  });

  it('without a $edgeHub identity, sends upstream through the $edgeAgent connection (no second client)', async () => {
    iothub = await startHubEmulator();
    iothub.createDevice(DEVICE, { edge: true });
    const tmp = tempDir('agent-wiring');
    cleanups.push(tmp.cleanup);
    const run = await startAgent(
      ['--connection-string', iothub.moduleConnectionString(DEVICE, '$edgeAgent'), '--ca', iothub.caPath],
      join(tmp.path, 'home'),
    );
    run.services.apply({
      version: 1,
      edgeHub: {
        schemaVersion: '1.1',
        routes: [{ name: 'all', route: 'FROM /messages/* INTO $upstream' }],
        storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
      },
      moduleTwins: {},
    });
    const scoring = await moduleClient(run.services, 'scoring');
    await scoring.sendOutputEvent('collect', await jsonMessage({ r: 1 }, {}, 'via-agent'));
    const [arrived] = await iothub.waitForMessages({ deviceId: DEVICE }, 1, 30_000);
    expect(arrived?.moduleId).toBe('$edgeAgent');
    expect(arrived?.systemProperties.outputName).toBe('collect');
    expect(iothub.isConnected(DEVICE, '$edgeHub')).toBe(false);
    // One connection for $edgeAgent: the one that reads the twin also carries the messages.
    const agentConnects = iothub
      .connectionAttempts()
      .filter((a) => a.clientId === `${DEVICE}/$edgeAgent` && a.accepted);
    expect(agentConnects).toHaveLength(1);
  });
});
