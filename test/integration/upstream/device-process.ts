/**
 * A device's hub + outbox + upstream sender in a process of its own, for crash tests (kill -9).
 * argv[2]: JSON {home, deviceId, iotHubHostName, upstreamConnectionString, iothubCaPath, port, routes}.
 * Prints one JSON line {ready, port, caPath, env} once the hub listens (env: the `scoring` module's).
 */
import { join } from 'node:path';
import deviceSdk from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import { startHub } from '../../../agent/hub/hub.js';
import { openOutbox } from '../../../agent/upstream/open-outbox.js';
import { startUpstreamSender } from '../../../agent/upstream/upstream-sender.js';
import { createLogger } from '../../../common/logger.js';

interface Config {
  home: string;
  deviceId: string;
  iotHubHostName: string;
  upstreamConnectionString: string;
  iothubCaPath: string;
  port: number;
  routes: Record<string, string>;
}

const config = JSON.parse(process.argv[2] ?? '{}') as Config;
const log = createLogger({ name: 'device-process', level: 'warn' });
const outbox = await openOutbox({ path: join(config.home, 'outbox.db'), capBytes: 256 * 1024 * 1024, log });
const hub = await startHub({
  home: config.home,
  deviceId: config.deviceId,
  iotHubHostName: config.iotHubHostName,
  outbox,
  log,
  port: config.port,
});
hub.applyEdgeHubDesired({
  routes: Object.entries(config.routes).map(([name, route]) => ({ name, route })),
  storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
});
process.stdout.write(
  `${JSON.stringify({ ready: true, port: hub.port, caPath: hub.caPath, env: hub.moduleEnvironment('scoring').env })}\n`,
);
const upstream = deviceSdk.ModuleClient.fromConnectionString(config.upstreamConnectionString, Mqtt);
await upstream.setOptions({ ca: config.iothubCaPath });
await upstream.open();
startUpstreamSender({ outbox, client: upstream, log, initialBackoffMs: 200, maxBackoffMs: 2000 });
