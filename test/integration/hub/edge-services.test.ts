/**
 * The composition the agent wires in: a manifest parsed by manifests/ → the agent's `$edgeHub`
 * stream → routes and module twins in the hub; module environments; reported status of bad routes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import deviceSdk from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { type EdgeServices, startEdgeServices } from '../../../agent/hub/edge-services.js';
import { EdgeHubDesiredStream } from '../../../agent/twin/edgehub-stream.js';
import { silentLogger } from '../../../common/logger.js';
import { parseDeployment } from '../../../manifests/parse.js';
import { type HubEmulator, startHubEmulator } from '../../support/iothub/index.js';
import { tempDir } from '../../support/tmp.js';
import { fromEnvironment, jsonMessage } from './harness.js';

const MANIFEST = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'manifests',
  'examples',
  'az-set-modules.deployment.json',
);

let services: EdgeServices | undefined;
let iothub: HubEmulator | undefined;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  await services?.stop();
  services = undefined;
  for (const c of cleanups.splice(0)) await c();
  await iothub?.stop();
  iothub = undefined;
});

describe('edge services', () => {
  it('follows $edgeHub from a manifest, gives modules their environment, and forwards once IoT Hub is attached', async () => {
    iothub = await startHubEmulator();
    iothub.createDevice('edge-1', { edge: true });
    const home = tempDir('services');
    cleanups.push(home.cleanup);
    services = await startEdgeServices({
      home: home.path,
      deviceId: 'edge-1',
      iotHubHostName: iothub.hostName,
      telemetryIntervalSecs: 0,
      log: silentLogger(),
    });
    const parsed = parseDeployment(JSON.parse(readFileSync(MANIFEST, 'utf8')));
    const stream = new EdgeHubDesiredStream();
    services.follow(stream);
    stream.publish({
      version: 3,
      edgeHub: parsed.edgeHub as NonNullable<typeof parsed.edgeHub>,
      moduleTwins: parsed.moduleTwins,
    });
    expect(services.hub.metrics().routes).toEqual(parsed.edgeHub?.routes.map((r) => r.name));
    expect(services.edgeHubReported()).toMatchObject({
      lastDesiredVersion: 3,
      lastDesiredStatus: { code: 200 },
    });

    const { env, binds } = services.moduleEnvironment.forModule('scoring');
    expect(env.EdgeHubConnectionString).toMatch(
      new RegExp(
        `^HostName=${iothub.hostName};GatewayHostName=localhost:${services.hub.port};DeviceId=edge-1;ModuleId=scoring;SharedAccessKey=`,
      ),
    );
    expect(binds).toEqual([`${services.hub.caPath}:/modelport/edge-hub-ca.pem:ro`]);
    expect(env.EdgeModuleCACertificateFile).toBe('/modelport/edge-hub-ca.pem');

    // Offline until an IoT Hub client is attached: the module's message waits in the outbox.
    const scoring = await fromEnvironment({ ...env, EdgeModuleCACertificateFile: services.hub.caPath });
    cleanups.push(() => scoring.close());
    await scoring.sendOutputEvent('collect', await jsonMessage({ requestId: 'r-1' }, {}, 'r-1'));
    expect(services.outbox.metrics().queued.count).toBe(1);
    expect(services.edgeHubReported().clients).toEqual({ 'edge-1/scoring': { status: 'Connected' } });

    const upstream = deviceSdk.ModuleClient.fromConnectionString(
      iothub.moduleConnectionString('edge-1', '$edgeHub'),
      Mqtt,
    );
    await upstream.setOptions({ ca: iothub.ca });
    await upstream.open();
    cleanups.push(() => upstream.close());
    services.attachUpstream(upstream);
    const [arrived] = await iothub.waitForMessages({ moduleId: '$edgeHub' }, 1, 20_000);
    expect(arrived?.systemProperties.messageId).toBe('r-1');
    // The manifest's scoring twin desired properties are what the module reads.
    const twin = await scoring.getTwin();
    expect(twin.properties.desired).toMatchObject(parsed.moduleTwins.scoring ?? {});
  });

  it('reports routes that do not parse (code 400 and the reason) and keeps the previous ones', async () => {
    const home = tempDir('services');
    cleanups.push(home.cleanup);
    services = await startEdgeServices({
      home: home.path,
      deviceId: 'edge-1',
      iotHubHostName: 'hub.example.net',
      telemetryIntervalSecs: 0,
      log: silentLogger(),
    });
    const sf = { timeToLiveSecs: 7200 };
    services.apply({
      version: 1,
      edgeHub: {
        schemaVersion: '1.1',
        routes: [{ name: 'a', route: 'FROM /messages/* INTO $upstream' }],
        storeAndForwardConfiguration: sf,
      },
      moduleTwins: {},
    });
    services.apply({
      version: 2,
      edgeHub: {
        schemaVersion: '1.1',
        routes: [{ name: 'b', route: 'FROM /messages/* INTO upstream' }],
        storeAndForwardConfiguration: sf,
      },
      moduleTwins: {},
    });
    const reported = services.edgeHubReported();
    expect(reported.lastDesiredVersion).toBe(2);
    expect(reported.lastDesiredStatus.code).toBe(400);
    expect(reported.lastDesiredStatus.description).toMatch(/route 'b': unknown sink 'upstream'/);
    expect(services.hub.metrics().routes).toEqual(['a']);
  });
});
