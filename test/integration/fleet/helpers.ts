/**
 * What the fleet tests share: an IoT Hub emulator with IoT Edge devices, the real `modelport` binary
 * pointed at it (HostName=localhost:PORT and the emulator's CA through MODELPORT_HUB_CA, the same way
 * a hub behind a private CA is reached), manifests generated from specs, and real device-side clients.
 */
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { ModuleClient } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import { expect } from 'vitest';
import { type CliRun, runModelport } from '../../support/cli.js';
import type { HubEmulator } from '../../support/iothub/index.js';

/** The environment that points the CLI at `hub` (flags would do the same). */
export function hubEnv(hub: HubEmulator, connectionString = hub.serviceConnectionString): NodeJS.ProcessEnv {
  return { MODELPORT_HUB_CONNECTION_STRING: connectionString, MODELPORT_HUB_CA: hub.caPath };
}

export interface Fleet {
  hub: HubEmulator;
  dir: string;
  mp(args: string[], env?: NodeJS.ProcessEnv): Promise<CliRun>;
}

export function fleet(hub: HubEmulator, dir: string): Fleet {
  return {
    hub,
    dir,
    mp: (args, env = {}) => runModelport(args, { ...hubEnv(hub), MODELPORT_HOME: join(dir, 'home'), ...env }),
  };
}

/** Registers IoT Edge devices (with $edgeAgent and $edgeHub) and sets their tags. */
export function edgeDevices(hub: HubEmulator, devices: Record<string, Record<string, string>>): void {
  for (const [deviceId, tags] of Object.entries(devices)) {
    hub.createDevice(deviceId, { edge: true });
    hub.updateTwin(deviceId, undefined, { tags });
  }
}

/**
 * Writes a spec running `image` as module `scoring` (plus `extra` modules by name → image) and generates
 * its manifest with the real CLI; returns the manifest path.
 */
export async function manifestFor(
  f: Fleet,
  name: string,
  modules: Record<string, string>,
  routes: Record<string, string> = { up: 'FROM /messages/modules/*/outputs/* INTO $upstream' },
): Promise<string> {
  const lines = ['modules:'];
  for (const [module, image] of Object.entries(modules)) lines.push(`  ${module}:`, `    image: ${image}`);
  lines.push('routes:');
  for (const [route, text] of Object.entries(routes)) lines.push(`  ${route}: "${text}"`);
  const spec = join(f.dir, `${name}.yaml`);
  writeFileSync(spec, `${lines.join('\n')}\n`);
  const output = join(f.dir, `${name}.json`);
  const run = await f.mp(['manifest', 'generate', '--spec', spec, '-o', output]);
  expect(run.code, run.stderr).toBe(0);
  return output;
}

// biome-ignore lint/suspicious/noExplicitAny: twins are JSON of every shape
type Json = any;

/** The $edgeAgent desired properties IoT Hub holds for a device. */
export function agentDesired(hub: HubEmulator, deviceId: string): Json {
  return (hub.twin(deviceId, '$edgeAgent') as Json).properties.desired;
}

/** module → image of what the hub wants the device to run. */
export function desiredImages(hub: HubEmulator, deviceId: string): Record<string, string> {
  const modules = agentDesired(hub, deviceId).modules ?? {};
  return Object.fromEntries(Object.entries(modules).map(([name, m]) => [name, (m as Json).settings.image]));
}

/** The image of module `scoring` per device. */
export function scoringImages(hub: HubEmulator, deviceIds: string[]): Record<string, string | undefined> {
  return Object.fromEntries(deviceIds.map((id) => [id, desiredImages(hub, id)['scoring']]));
}

/**
 * Plays the device's edgeAgent for one moment: connects over MQTT-TLS with the real device SDK and
 * reports that it applied the desired version it received with `code`.
 */
export async function reportApplied(hub: HubEmulator, deviceId: string, code = 200): Promise<void> {
  const agent = ModuleClient.fromConnectionString(hub.moduleConnectionString(deviceId, '$edgeAgent'), Mqtt);
  await agent.setOptions({ ca: hub.ca });
  await agent.open();
  try {
    const twin = await agent.getTwin();
    const version = twin.properties.desired.$version as number;
    await new Promise<void>((resolve, reject) =>
      twin.properties.reported.update(
        {
          lastDesiredVersion: version,
          lastDesiredStatus: { code, description: code === 200 ? '' : 'failed' },
        },
        (err?: Error) => (err ? reject(err) : resolve()),
      ),
    );
  } finally {
    await agent.close();
  }
}

/** A loopback port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The JSON document of a --json run (result or error). */
export function doc(run: CliRun): Json {
  return run.json();
}
