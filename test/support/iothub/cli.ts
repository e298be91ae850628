/**
 * `npm run hub-emulator [-- --port N] [--device ID[:edge]]...`: starts the IoT Hub emulator for
 * local development, prints the connection strings and the CA path, and runs until Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { startHubEmulator } from './index.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      device: { type: 'string', multiple: true, default: [] },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port must be a TCP port number, not '${values.port}'\n`);
    process.exitCode = 2;
    return;
  }
  const hub = await startHubEmulator({ port });
  const lines = [
    'IoT Hub emulator (test tool) listening on TLS port',
    `  port (MQTT and HTTPS): ${hub.port}`,
    `  CA certificate:        ${hub.caPath}`,
    `  service:               ${hub.serviceConnectionString}`,
  ];
  for (const spec of values.device ?? []) {
    const [deviceId = '', flag] = spec.split(':');
    const device = hub.createDevice(deviceId, { edge: flag === 'edge' });
    lines.push(
      `  device ${deviceId}:${' '.repeat(Math.max(1, 14 - deviceId.length))}${device.connectionString}`,
    );
    if (flag === 'edge') {
      for (const moduleId of ['$edgeAgent', '$edgeHub']) {
        lines.push(`    ${moduleId}: ${hub.moduleConnectionString(deviceId, moduleId)}`);
      }
    }
  }
  lines.push(
    'Device clients: client.setOptions({ ca }) with the CA file. Service clients (azure-iothub): see',
    'test/support/iothub/service-client.ts (they need an https agent for the port and the CA).',
    'Press Ctrl-C to stop.',
  );
  process.stdout.write(`${lines.join('\n')}\n`);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await hub.stop();
  hub.httpsAgent.destroy();
  process.stdout.write('IoT Hub emulator stopped\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`hub-emulator: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
