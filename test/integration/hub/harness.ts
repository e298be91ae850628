/**
 * A device for hub tests: the IoT Hub emulator upstream, an edge device with `$edgeHub` as the
 * upstream identity, an outbox and the local hub in a temp home, and stock module clients made the
 * way a module container makes them (`ModuleClient.fromEnvironment(Mqtt)`).
 */
import { join } from 'node:path';
import { ModuleClient } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import { type Hub, type HubOptions, startHub } from '../../../agent/hub/hub.js';
import { type OpenOutboxOptions, openOutbox } from '../../../agent/upstream/open-outbox.js';
import type { Outbox } from '../../../agent/upstream/outbox.js';
import type { EndpointSender } from '../../../agent/upstream/sender.js';
import { startUpstreamSender } from '../../../agent/upstream/upstream-sender.js';
import { silentLogger } from '../../../common/logger.js';
import { type HubEmulator, startHubEmulator } from '../../support/iothub/index.js';
import { tempDir } from '../../support/tmp.js';

export const DEVICE = 'edge-1';

export interface Device {
  iothub: HubEmulator;
  home: string;
  outbox: Outbox;
  hub: Hub;
  upstream: ModuleClient;
  sender: EndpointSender;
  /** A module client built from the environment the hub hands the module. */
  module(moduleId: string, env?: Record<string, string>): Promise<ModuleClient>;
  /**
   * Stops hub, sender and outbox (not the emulator), e.g. to start them again on the same home;
   * module clients stay open unless `closeModules` (they reconnect on their own, as in a container).
   */
  stopDevice(closeModules?: boolean): Promise<void>;
  startDevice(options?: Partial<HubOptions>): Promise<void>;
  close(): Promise<void>;
}

/** Sets process.env while the SDK reads it (fromEnvironment reads it synchronously, then a file). */
export async function fromEnvironment(env: Record<string, string>): Promise<ModuleClient> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await ModuleClient.fromEnvironment(Mqtt);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

export async function startDevice(
  options: {
    outbox?: Partial<OpenOutboxOptions>;
    hub?: Partial<HubOptions>;
    routes?: Record<string, string>;
    sender?: { deliveryTimeoutMs?: number; window?: number };
  } = {},
): Promise<Device> {
  const iothub = await startHubEmulator();
  iothub.createDevice(DEVICE, { edge: true });
  const tmp = tempDir('hub');
  const clients: ModuleClient[] = [];
  const log = silentLogger();
  const routes = options.routes ?? { all: 'FROM /messages/* INTO $upstream' };

  const device = {} as Device;
  const open = async (hubOptions: Partial<HubOptions> = {}) => {
    const outbox = await openOutbox({
      path: join(tmp.path, 'outbox.db'),
      capBytes: 256 * 1024 * 1024,
      log,
      ...options.outbox,
    });
    const hub = await startHub({
      home: tmp.path,
      deviceId: DEVICE,
      iotHubHostName: iothub.hostName,
      outbox,
      log,
      ...options.hub,
      ...hubOptions,
    });
    hub.applyEdgeHubDesired({
      routes: Object.entries(routes).map(([name, route]) => ({ name, route })),
      storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
    });
    const upstream = ModuleClient.fromConnectionString(
      iothub.moduleConnectionString(DEVICE, '$edgeHub'),
      Mqtt,
    );
    await upstream.setOptions({ ca: iothub.ca });
    await upstream.open();
    const sender = startUpstreamSender({
      outbox,
      client: upstream,
      log,
      initialBackoffMs: 200,
      maxBackoffMs: 2000,
      ...options.sender,
    });
    Object.assign(device, { outbox, hub, upstream, sender });
  };
  try {
    await open();
  } catch (e) {
    await iothub.stop();
    tmp.cleanup();
    throw e;
  }

  const stopDevice = async (closeModules = true) => {
    device.sender.stop();
    await closeQuietly([...(closeModules ? clients.splice(0) : []), device.upstream]);
    await device.hub.close();
    device.outbox.close();
  };
  Object.assign(device, {
    iothub,
    home: tmp.path,
    module: async (moduleId: string, env?: Record<string, string>) => {
      const { env: moduleEnv } = device.hub.moduleEnvironment(moduleId);
      const client = await fromEnvironment({
        ...moduleEnv,
        // The test runs on the host: the CA is read from the agent home, not the container path.
        EdgeModuleCACertificateFile: device.hub.caPath,
        ...env,
      });
      clients.push(client);
      return client;
    },
    stopDevice,
    startDevice: open,
    close: async () => {
      await stopDevice(true);
      await iothub.stop();
      tmp.cleanup();
    },
  });
  return device;
}

/** Closes SDK clients without waiting more than 5 s (one caught mid-reconnect can take minutes). */
export async function closeQuietly(clients: Array<{ close(): Promise<unknown> }>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(clients.map((c) => c.close())),
    new Promise((r) => {
      timer = setTimeout(r, 5000);
    }),
  ]);
  clearTimeout(timer);
}

export function jsonMessage(body: unknown, props: Record<string, string> = {}, messageId?: string) {
  // Imported lazily to keep the SDK's Message out of the harness's public types.
  return import('azure-iot-device').then(({ Message }) => {
    const m = new Message(JSON.stringify(body));
    m.contentType = 'application/json';
    m.contentEncoding = 'utf-8';
    if (messageId) m.messageId = messageId;
    for (const [k, v] of Object.entries(props)) m.properties.add(k, v);
    return m;
  });
}
