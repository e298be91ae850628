/**
 * The device side of the emulator, driven by the real azure-iot-device + azure-iot-device-mqtt
 * clients over MQTT-TLS: CONNECT with SAS (and its refusals), telemetry, twins, direct methods,
 * cloud-to-device messages.
 */
import { Message } from 'azure-iot-device';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type HubEmulator, startHubEmulator } from '../../support/iothub/index.js';
import { createSasToken } from '../../support/iothub/sas.js';
import {
  closeAll,
  deviceClient,
  eventually,
  moduleClient,
  nextDesired,
  registryOf,
  rejectionOf,
  reportProperties,
  serviceClientOf,
  untilSubscribed,
} from './sdk-clients.js';

let hub: HubEmulator;
const open: Array<{ close(): Promise<unknown> }> = [];

beforeAll(async () => {
  hub = await startHubEmulator();
});
afterEach(() => closeAll(open));
afterAll(() => hub.stop());

function track<T extends { close(): Promise<unknown> }>(client: T): T {
  open.push(client);
  return client;
}

describe('CONNECT with a SAS token', () => {
  it('accepts a device and a module and shows them connected', async () => {
    hub.createDevice('conn-dev');
    hub.createModule('conn-dev', 'worker');
    const device = track(await deviceClient(hub, hub.deviceConnectionString('conn-dev')));
    const module = track(await moduleClient(hub, hub.moduleConnectionString('conn-dev', 'worker')));
    await device.open();
    await module.open();
    expect(hub.isConnected('conn-dev')).toBe(true);
    expect(hub.isConnected('conn-dev', 'worker')).toBe(true);
    const registry = registryOf(hub);
    expect((await registry.get('conn-dev')).responseBody.connectionState).toBe('Connected');
    await device.close();
    await eventually(() => expect(hub.isConnected('conn-dev')).toBe(false));
    expect((await registry.get('conn-dev')).responseBody.connectionState).toBe('Disconnected');
  });

  it("connects an edge device's $edgeAgent with the secondary key", async () => {
    hub.createDevice('conn-edge', { edge: true });
    const agent = track(
      await moduleClient(hub, hub.moduleConnectionString('conn-edge', '$edgeAgent', 'secondary')),
    );
    await agent.open();
    expect(hub.isConnected('conn-edge', '$edgeAgent')).toBe(true);
  });

  const lastAttempt = (clientId: string) =>
    hub
      .connectionAttempts()
      .filter((a) => a.clientId === clientId)
      .at(-1);

  it.each([
    [
      'a wrong key',
      'ref-key',
      () =>
        hub
          .deviceConnectionString('ref-key')
          .replace(/SharedAccessKey=.*/, `SharedAccessKey=${Buffer.alloc(32, 1).toString('base64')}`),
      'signature does not match',
    ],
    [
      'an unknown device',
      'ref-unknown',
      () => hub.deviceConnectionString('ref-key').replace('DeviceId=ref-key', 'DeviceId=ref-unknown'),
      "identity 'ref-unknown' is not registered",
    ],
    [
      'a disabled device',
      'ref-disabled',
      () => hub.deviceConnectionString('ref-disabled'),
      "device 'ref-disabled' is disabled",
    ],
    [
      'an unknown module',
      'ref-key/nope',
      () => `${hub.deviceConnectionString('ref-key')};ModuleId=nope`,
      "identity 'ref-key/nope' is not registered",
    ],
  ])('refuses %s with CONNACK 5 (not authorized)', async (_case, clientId, connectionString, reason) => {
    try {
      hub.createDevice('ref-key');
      hub.createDevice('ref-disabled', { disabled: true });
    } catch {
      // Created by an earlier case of this table.
    }
    const client = await deviceClient(hub, connectionString());
    const error = await rejectionOf(client.open());
    expect(error.name).toBe('UnauthorizedError');
    expect(lastAttempt(clientId)).toMatchObject({ accepted: false, returnCode: 5 });
    expect(lastAttempt(clientId)?.reason).toContain(reason);
  });

  it('refuses an expired token', async () => {
    const { primaryKey } = hub.createDevice('ref-sas');
    const sasCs = (resource: string, expiresAtSeconds: number) =>
      `HostName=${hub.hostName};DeviceId=ref-sas;SharedAccessSignature=${createSasToken({ resource, keyBase64: primaryKey, expiresAtSeconds })}`;
    const past = Math.floor(Date.now() / 1000) - 60;
    const expired = await rejectionOf(
      (await deviceClient(hub, sasCs(`${hub.hostName}/devices/ref-sas`, past))).open(),
    );
    expect(expired.name).toBe('UnauthorizedError');
    expect(lastAttempt('ref-sas')?.reason).toContain('token expired');
    const future = Math.floor(Date.now() / 1000) + 600;
    const good = track(await deviceClient(hub, sasCs(`${hub.hostName}/devices/ref-sas`, future)));
    await good.open();
    expect(lastAttempt('ref-sas')).toMatchObject({ accepted: true, returnCode: 0 });
  });

  it('drops the connection of a device that gets disabled', async () => {
    hub.createDevice('dis-dev');
    const client = track(await deviceClient(hub, hub.deviceConnectionString('dis-dev')));
    await client.open();
    const registry = registryOf(hub);
    const { responseBody: device } = await registry.get('dis-dev');
    await registry.update({ ...device, status: 'disabled' });
    await eventually(() => expect(hub.isConnected('dis-dev')).toBe(false));
  });
});

describe('telemetry', () => {
  it('captures device messages with application and system properties, acked at QoS 1', async () => {
    hub.createDevice('tel-dev');
    const client = track(await deviceClient(hub, hub.deviceConnectionString('tel-dev')));
    await client.open();
    const message = new Message(JSON.stringify({ temperature: 21.5 }));
    message.messageId = 'msg-1';
    message.correlationId = 'corr-1';
    message.contentType = 'application/json';
    message.contentEncoding = 'utf-8';
    message.properties.add('alert', 'high temp');
    message.properties.add('kind', 'a&b=c');
    const result = await client.sendEvent(message);
    expect(result.transportObj).toBeDefined();
    const [captured] = hub.messages({ deviceId: 'tel-dev' });
    expect(JSON.parse(captured?.body.toString() ?? '')).toEqual({ temperature: 21.5 });
    expect(captured?.appProperties).toEqual({ alert: 'high temp', kind: 'a&b=c' });
    expect(captured?.systemProperties).toMatchObject({
      messageId: 'msg-1',
      correlationId: 'corr-1',
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      connectionDeviceId: 'tel-dev',
    });
    expect(captured?.systemProperties.connectionModuleId).toBeUndefined();
  });

  it('captures module output events with outputName and connectionModuleId, and waits for them', async () => {
    hub.createDevice('tel-edge', { edge: true });
    const edgeHub = track(await moduleClient(hub, hub.moduleConnectionString('tel-edge', '$edgeHub')));
    await edgeHub.open();
    const waiting = hub.waitForMessages({ deviceId: 'tel-edge', outputName: 'scores' }, 3, 10_000);
    for (const n of [1, 2, 3]) await edgeHub.sendOutputEvent('scores', new Message(String(n)));
    await edgeHub.sendEvent(new Message('plain'));
    const received = await waiting;
    expect(received.map((m) => m.body.toString())).toEqual(['1', '2', '3']);
    expect(received[0]?.systemProperties).toMatchObject({
      outputName: 'scores',
      connectionModuleId: '$edgeHub',
    });
    expect(hub.messages({ deviceId: 'tel-edge', moduleId: '$edgeHub' })).toHaveLength(4);
  });

  it('rejects a wait that times out, saying how many messages came', async () => {
    const error = await rejectionOf(hub.waitForMessages({ deviceId: 'nobody' }, 1, 100));
    expect(error.message).toContain('Waited 100 ms for 1 matching device-to-cloud message(s); 0 arrived');
  });

  it('documents that the MQTT transport does not implement sendEventBatch', async () => {
    hub.createDevice('tel-batch');
    const client = track(await deviceClient(hub, hub.deviceConnectionString('tel-batch')));
    await client.open();
    const error = await rejectionOf(
      Promise.resolve().then(() => client.sendEventBatch([new Message('a'), new Message('b')])),
    );
    expect(error.name).toBe('NotImplementedError');
    expect(hub.messages({ deviceId: 'tel-batch' })).toHaveLength(0);
  });
});

describe('twins', () => {
  it('gets the twin, stores reported properties and pushes desired patches with increasing versions', async () => {
    hub.createDevice('twin-dev');
    const client = track(await deviceClient(hub, hub.deviceConnectionString('twin-dev')));
    await client.open();
    const twin = await client.getTwin();
    expect(twin.properties.desired).toMatchObject({ $version: 1 });

    await reportProperties(twin, { firmware: '1.2.0', status: { ok: true } });
    const registry = registryOf(hub);
    const serviceTwin = (await registry.getTwin('twin-dev')).responseBody;
    expect(serviceTwin.properties.reported).toMatchObject({
      firmware: '1.2.0',
      status: { ok: true },
      $version: 2,
    });

    const versions: number[] = [];
    twin.on('properties.desired', (d: { $version: number }) => versions.push(d.$version));
    await untilSubscribed(hub, 'twin-dev', undefined, 'desired');
    const first = nextDesired(twin, (d) => d.interval === 5);
    await serviceTwin.update({ properties: { desired: { interval: 5 } } });
    expect(await first).toMatchObject({ interval: 5, $version: 2 });
    const second = nextDesired(twin, (d) => d.interval === 10);
    await registry.updateTwin('twin-dev', { properties: { desired: { interval: 10, mode: 'fast' } } }, '*');
    expect(await second).toMatchObject({ interval: 10, mode: 'fast', $version: 3 });
    // The SDK re-emits the current desired properties to each new listener, so versions repeat,
    // but never go back.
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(versions).toContain(2);
    expect(versions.at(-1)).toBe(3);

    const again = await client.getTwin();
    expect(again.properties.desired).toMatchObject({ interval: 10, mode: 'fast', $version: 3 });
    expect(again.properties.reported).toMatchObject({ firmware: '1.2.0', $version: 2 });
  });

  it("serves a module's own twin to a module client", async () => {
    hub.createDevice('twin-edge', { edge: true });
    hub.updateTwin('twin-edge', '$edgeAgent', { properties: { desired: { schemaVersion: '1.1' } } });
    const agent = track(await moduleClient(hub, hub.moduleConnectionString('twin-edge', '$edgeAgent')));
    await agent.open();
    const twin = await agent.getTwin();
    expect(twin.properties.desired).toMatchObject({ schemaVersion: '1.1', $version: 2 });
    await reportProperties(twin, { lastDesiredVersion: 2 });
    expect(hub.twin('twin-edge', '$edgeAgent')).toMatchObject({
      properties: { reported: { lastDesiredVersion: 2 } },
    });
    expect(hub.twin('twin-edge')).toMatchObject({ properties: { reported: { $version: 1 } } });
  });

  it('refuses a reported patch IoT Hub would refuse, and the device sees the error', async () => {
    hub.createDevice('twin-bad');
    const client = track(await deviceClient(hub, hub.deviceConnectionString('twin-bad')));
    await client.open();
    const twin = await client.getTwin();
    const error = await rejectionOf(reportProperties(twin, { 'not.allowed': 1 }));
    expect(error.message).toContain("key 'not.allowed' is not allowed");
    expect(hub.twin('twin-bad')).toMatchObject({ properties: { reported: { $version: 1 } } });
  });
});

describe('direct methods', () => {
  it('invokes a method on a device and on a module and returns their status and payload', async () => {
    hub.createDevice('m-dev', { edge: true });
    const device = track(await deviceClient(hub, hub.deviceConnectionString('m-dev')));
    const agent = track(await moduleClient(hub, hub.moduleConnectionString('m-dev', '$edgeAgent')));
    await device.open();
    await agent.open();
    device.onDeviceMethod('reboot', (request, response) => {
      response.send(200, { rebooting: true, delay: (request.payload as { delay: number }).delay }, () => {});
    });
    agent.onMethod('ping', (_request, response) => response?.send(201, 'pong', () => {}));
    await untilSubscribed(hub, 'm-dev', undefined, 'methods');
    await untilSubscribed(hub, 'm-dev', '$edgeAgent', 'methods');
    const service = serviceClientOf(hub);
    const onDevice = await service.invokeDeviceMethod('m-dev', {
      methodName: 'reboot',
      payload: { delay: 3 },
      responseTimeoutInSeconds: 10,
    });
    expect(onDevice.result).toEqual({ status: 200, payload: { rebooting: true, delay: 3 } });
    const onModule = await service.invokeDeviceMethod('m-dev', '$edgeAgent', {
      methodName: 'ping',
      payload: null,
    });
    expect(onModule.result).toEqual({ status: 201, payload: 'pong' });
  });

  it('answers 404 DeviceNotOnline for a device that is not connected', async () => {
    hub.createDevice('m-offline');
    const error = await rejectionOf(
      serviceClientOf(hub).invokeDeviceMethod('m-offline', { methodName: 'x' }),
    );
    expect(error.response?.statusCode).toBe(404);
    expect(error.responseBody).toContain('ErrorCode:DeviceNotOnline');
  });

  it('waits connectTimeoutInSeconds for the device to come online', async () => {
    hub.createDevice('m-late');
    const service = serviceClientOf(hub);
    const call = service.invokeDeviceMethod('m-late', {
      methodName: 'hello',
      connectTimeoutInSeconds: 20,
      responseTimeoutInSeconds: 10,
    });
    const device = track(await deviceClient(hub, hub.deviceConnectionString('m-late')));
    await device.open();
    device.onDeviceMethod('hello', (_req, res) => res.send(200, { late: true }, () => {}));
    expect((await call).result).toEqual({ status: 200, payload: { late: true } });
  });

  it('answers 504 GatewayTimeout when the device does not respond in time', async () => {
    hub.createDevice('m-slow');
    const device = track(await deviceClient(hub, hub.deviceConnectionString('m-slow')));
    await device.open();
    device.onDeviceMethod('slow', () => {
      // Never responds.
    });
    await untilSubscribed(hub, 'm-slow', undefined, 'methods');
    const error = await rejectionOf(
      serviceClientOf(hub).invokeDeviceMethod('m-slow', { methodName: 'slow', responseTimeoutInSeconds: 5 }),
    );
    expect(error.name).toBe('GatewayTimeoutError');
    expect(error.responseBody).toContain('ErrorCode:GatewayTimeout');
  });

  it("refuses a response timeout outside IoT Hub's 5–300 s with 400", async () => {
    hub.createDevice('m-range');
    const error = await rejectionOf(
      serviceClientOf(hub).invokeDeviceMethod('m-range', { methodName: 'x', responseTimeoutInSeconds: 1 }),
    );
    expect(error.name).toBe('ArgumentError');
    expect(error.message).toContain('responseTimeoutInSeconds must be an integer from 5 to 300');
  });
});

describe('cloud-to-device messages', () => {
  it('delivers a message queued before the device subscribed, with its properties', async () => {
    hub.createDevice('c2d-dev');
    hub.sendCloudToDevice('c2d-dev', {
      body: 'update now',
      messageId: 'c-1',
      properties: { priority: 'high' },
    });
    const client = track(await deviceClient(hub, hub.deviceConnectionString('c2d-dev')));
    await client.open();
    const received = new Promise<Message>((resolve) => client.on('message', resolve));
    const message = await received;
    expect(message.getData().toString()).toBe('update now');
    expect(message.messageId).toBe('c-1');
    expect(message.properties.getValue('priority')).toBe('high');
    await client.complete(message);
  });
});
