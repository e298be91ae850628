/**
 * Faults on demand, exercised with real SDK clients that recover by themselves: dropped
 * connections, refused connections, delayed acknowledgements, and stop / start / restart of the
 * emulator on the same port with the same state.
 */
import { existsSync } from 'node:fs';
import { type Client as DeviceClient, Message, type Twin } from 'azure-iot-device';
import type { Registry } from 'azure-iothub';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type HubEmulator, startHubEmulator } from '../../support/iothub/index.js';
import {
  closeAll,
  deviceClient,
  eventually,
  nextDesired,
  registryOf,
  rejectionOf,
  reportProperties,
  serviceClientOf,
} from './sdk-clients.js';

let hub: HubEmulator;
let registry: Registry;
const open: Array<{ close(): Promise<unknown> }> = [];

beforeAll(async () => {
  hub = await startHubEmulator();
  registry = registryOf(hub);
});
afterEach(async () => {
  hub.faults.reset();
  await closeAll(open);
});
afterAll(() => hub.stop());

/** A device that listens for desired properties and answers `ping`, so the SDK reconnects on its own. */
async function liveDevice(deviceId: string): Promise<{ client: DeviceClient; twin: Twin }> {
  hub.createDevice(deviceId);
  const client = await deviceClient(hub, hub.deviceConnectionString(deviceId));
  open.push(client);
  await client.open();
  client.onDeviceMethod('ping', (_req, res) => res.send(200, { pong: deviceId }, () => {}));
  const twin = await client.getTwin();
  twin.on('properties.desired', () => {});
  // A drop in the middle of the SDK's SUBSCRIBE is a different story (the SDK's own retry); wait it out.
  await eventually(() =>
    expect(hub.subscriptions(deviceId)).toEqual(['desired', 'methods', 'twinResponses']),
  );
  return { client, twin };
}

const acceptedConnections = (clientId: string) =>
  hub.connectionAttempts().filter((a) => a.clientId === clientId && a.accepted).length;

describe('dropped connections', () => {
  it('lets the device client reconnect by itself, with its twin and method subscriptions intact', async () => {
    const { twin } = await liveDevice('f-drop');
    const before = acceptedConnections('f-drop');
    hub.faults.dropAll();
    await eventually(() => expect(acceptedConnections('f-drop')).toBeGreaterThan(before));
    await eventually(() => expect(hub.isConnected('f-drop')).toBe(true));

    const patch = nextDesired(twin, (d) => d.after === 'drop');
    await registry.updateTwin('f-drop', { properties: { desired: { after: 'drop' } } }, '*');
    expect(await patch).toMatchObject({ after: 'drop' });
    const call = await serviceClientOf(hub).invokeDeviceMethod('f-drop', { methodName: 'ping' });
    expect(call.result).toEqual({ status: 200, payload: { pong: 'f-drop' } });
  });

  it('refuses reconnections with CONNACK 3 during refuseFor, then lets the client in', async () => {
    const { client } = await liveDevice('f-refuse');
    const before = acceptedConnections('f-refuse');
    hub.faults.refuseFor(1500);
    hub.faults.dropAll();
    const refused = () =>
      hub.connectionAttempts().filter((a) => a.clientId === 'f-refuse' && a.returnCode === 3);
    await eventually(() => expect(refused().length).toBeGreaterThan(0));
    expect(refused()[0]?.reason).toContain('refusing connections');
    await eventually(() => expect(acceptedConnections('f-refuse')).toBeGreaterThan(before), 20_000);
    await client.sendEvent(new Message('after refusal'));
    expect(hub.messages({ deviceId: 'f-refuse' }).map((m) => m.body.toString())).toEqual(['after refusal']);
  });
});

describe('delayed acknowledgements', () => {
  it('holds a QoS 1 message, unstored and unacknowledged, until the delay has passed', async () => {
    const { client } = await liveDevice('f-delay');
    hub.faults.delayAcks(3000);
    let acked = false;
    const sending = client.sendEvent(new Message('slow')).then(() => {
      acked = true;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(acked).toBe(false);
    expect(hub.messages({ deviceId: 'f-delay' })).toHaveLength(0);
    await sending;
    expect(hub.messages({ deviceId: 'f-delay' }).map((m) => m.body.toString())).toEqual(['slow']);
  });
});

describe('stop, start and restart', () => {
  it('restarts on the same port with identities, twins and sessions kept; clients carry on', async () => {
    const { client, twin } = await liveDevice('f-restart');
    await reportProperties(twin, { firmware: '2.0' });
    const { port, hostName } = hub;
    const before = acceptedConnections('f-restart');

    await hub.restart();
    expect(hub.port).toBe(port);
    expect(hub.hostName).toBe(hostName);
    expect(existsSync(hub.caPath)).toBe(true);

    const serviceTwin = (await registry.getTwin('f-restart')).responseBody;
    expect(serviceTwin.properties.reported).toMatchObject({ firmware: '2.0' });
    await eventually(() => expect(acceptedConnections('f-restart')).toBeGreaterThan(before), 20_000);

    const patch = nextDesired(twin, (d) => d.after === 'restart');
    await serviceTwin.update({ properties: { desired: { after: 'restart' } } });
    expect(await patch).toMatchObject({ after: 'restart' });
    await client.sendEvent(new Message('after restart'));
    expect(hub.messages({ deviceId: 'f-restart' }).map((m) => m.body.toString())).toEqual(['after restart']);
  });

  it('refuses everything while stopped and serves again after start', async () => {
    hub.createDevice('f-stopped');
    await hub.stop();
    expect(existsSync(hub.caPath)).toBe(false);
    const refused = await rejectionOf(registry.get('f-stopped'));
    expect((refused as Error & { code?: string }).code).toBe('ECONNREFUSED');
    await hub.start();
    expect((await registry.get('f-stopped')).responseBody.deviceId).toBe('f-stopped');
  });
});
