/**
 * The device side with a full outbox and no link: hub + outbox + upstream sender whose IoT Hub is
 * unreachable (nothing listens on its port, so the SDK keeps retrying). argv: home, seconds.
 * Prints {rssBytes, heapUsedBytes, queued} after the given time and a GC.
 */
import { join } from 'node:path';
import deviceSdk from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import { startHub } from '../../agent/hub/hub.js';
import { openOutbox } from '../../agent/upstream/open-outbox.js';
import { startUpstreamSender } from '../../agent/upstream/upstream-sender.js';
import { silentLogger } from '../../common/logger.js';

const [home = '', seconds = '5'] = process.argv.slice(2);
const log = silentLogger();
const outbox = await openOutbox({ path: join(home, 'outbox.db'), capBytes: 1024 ** 3, log });
const hub = await startHub({ home, deviceId: 'bench-edge', iotHubHostName: 'localhost:1', outbox, log });
const client = deviceSdk.ModuleClient.fromConnectionString(
  `HostName=localhost:1;DeviceId=bench-edge;ModuleId=$edgeHub;SharedAccessKey=${Buffer.alloc(32, 1).toString('base64')}`,
  Mqtt,
);
startUpstreamSender({ outbox, client, log });
await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
(globalThis as { gc?: () => void }).gc?.();
const mem = process.memoryUsage();
process.stdout.write(
  `${JSON.stringify({ rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, queued: outbox.metrics().queued.count })}\n`,
);
await hub.close();
outbox.close();
process.exit(0);
