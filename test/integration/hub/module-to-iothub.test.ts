import { NoRetry } from 'azure-iot-common';
import { Message } from 'azure-iot-device';
import { afterEach, describe, expect, it } from 'vitest';
import { RoutesError } from '../../../agent/hub/routes/errors.js';
import { DEVICE, type Device, jsonMessage, startDevice } from './harness.js';

let device: Device | undefined;
afterEach(async () => {
  await device?.close();
  device = undefined;
});

describe('module → hub → IoT Hub', () => {
  it('a stock ModuleClient.fromEnvironment sends on output collect and the message arrives through a route', async () => {
    device = await startDevice({
      routes: { collect: 'FROM /messages/modules/scoring/outputs/collect INTO $upstream' },
    });
    const scoring = await device.module('scoring');
    await scoring.open();
    const record = { model: 'ridge', version: '1', requestId: 'req-1', inputs: [[1, 2]], outputs: [3] };
    await scoring.sendOutputEvent('collect', await jsonMessage(record, { model: 'ridge' }, 'msg-1'));

    const [arrived] = await device.iothub.waitForMessages(
      { deviceId: DEVICE, moduleId: '$edgeHub' },
      1,
      20_000,
    );
    expect(JSON.parse(arrived?.body.toString() ?? '')).toEqual(record);
    expect(arrived?.systemProperties).toMatchObject({
      messageId: 'msg-1',
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      outputName: 'collect',
    });
    expect(arrived?.appProperties).toEqual({
      model: 'ridge',
      type: 'collect',
      module: 'scoring',
      output: 'collect',
    });
    expect(device.hub.metrics()).toMatchObject({
      received: 1,
      routed: 1,
      unrouted: 0,
      connectedModules: ['scoring'],
    });
  });
});

describe('refusals', () => {
  it('refuses a module with a wrong key and an unknown module (CONNACK refused); expired tokens: unit tests', async () => {
    device = await startDevice();
    const good = device.hub.moduleConnectionString('scoring');
    const wrongKey = good.replace(
      /SharedAccessKey=[^;]+/,
      `SharedAccessKey=${Buffer.alloc(32, 1).toString('base64')}`,
    );
    const wrong = await device.module('scoring', { EdgeHubConnectionString: wrongKey });
    wrong.setRetryPolicy(new NoRetry());
    await expect(wrong.open()).rejects.toThrow(/not authorized|Unauthorized/i);

    const unknown = await device.module('scoring', {
      EdgeHubConnectionString: good.replace('ModuleId=scoring', 'ModuleId=ghost'),
    });
    unknown.setRetryPolicy(new NoRetry());
    await expect(unknown.open()).rejects.toThrow(/not authorized|Unauthorized/i);

    expect(device.hub.metrics().connectsRefused).toBeGreaterThanOrEqual(2);
    expect(device.hub.connectedModules()).toEqual([]);
    const ok = await device.module('scoring');
    await ok.open();
    expect(device.hub.connectedModules()).toEqual(['scoring']);
  });

  it('reports malformed routes with a code and keeps the previous routes', async () => {
    device = await startDevice({
      routes: { collect: 'FROM /messages/modules/scoring/outputs/collect INTO $upstream' },
    });
    const apply = () =>
      device?.hub.applyEdgeHubDesired({
        routes: [
          { name: 'ok', route: 'FROM /messages/* INTO $upstream' },
          { name: 'broken', route: 'FROM /messages/* INTO $nowhere' },
        ],
        storeAndForwardConfiguration: { timeToLiveSecs: 60 },
      });
    expect(apply).toThrow(RoutesError);
    try {
      apply();
    } catch (e) {
      expect((e as RoutesError).code).toBe('ROUTES_INVALID');
      expect((e as RoutesError).message).toMatch(/route 'broken': unknown sink '\$nowhere'/);
    }
    expect(device.hub.metrics()).toMatchObject({
      routes: ['collect'],
      lastRouteError: { code: 'ROUTES_INVALID' },
    });
    const scoring = await device.module('scoring');
    await scoring.sendOutputEvent('collect', await jsonMessage({ n: 1 }, {}, 'still-routed'));
    const [arrived] = await device.iothub.waitForMessages({ moduleId: '$edgeHub' }, 1, 20_000);
    expect(arrived?.systemProperties.messageId).toBe('still-routed');
  });

  it('refuses a message over 256 KB: the SDK for a large body, the hub when properties push it over', async () => {
    device = await startDevice();
    const scoring = await device.module('scoring');
    scoring.setRetryPolicy(new NoRetry());
    await scoring.open();
    const tooBig = new Message(Buffer.alloc(257 * 1024, 0x61));
    await expect(scoring.sendOutputEvent('collect', tooBig)).rejects.toThrow(/256/);

    // Body under the limit, properties over it: only the hub can tell, and it refuses (no PUBACK).
    const edge = new Message(Buffer.alloc(255 * 1024, 0x62));
    edge.messageId = 'edge-of-limit';
    edge.properties.add('padding', 'p'.repeat(4 * 1024));
    await expect(scoring.sendOutputEvent('collect', edge)).rejects.toThrow();
    expect(device.hub.metrics().publishesRefused).toBe(1);
    expect(device.outbox.metrics().refused).toBe(1);

    // Nothing is stuck: the next message goes through (the SDK reconnects).
    const next = await device.module('scoring');
    await next.sendOutputEvent('collect', await jsonMessage({ after: true }, {}, 'after-refusal'));
    const arrived = await device.iothub.waitForMessages({ moduleId: '$edgeHub' }, 1, 20_000);
    expect(arrived.map((m) => m.systemProperties.messageId)).toEqual(['after-refusal']);
  });
});

describe('module features', () => {
  it('delivers BrokeredEndpoint routes to the target module input, with the sender identity', async () => {
    device = await startDevice({
      routes: {
        toSink:
          'FROM /messages/modules/scoring/outputs/collect INTO BrokeredEndpoint("/modules/sink/inputs/records")',
        critical: "FROM /messages/modules/scoring/* WHERE level = 'critical' INTO $upstream",
      },
    });
    const sink = await device.module('sink');
    const received: Array<{ input: string; id: string; body: string; props: Record<string, string> }> = [];
    sink.on('inputMessage', (input: string, msg: Message) => {
      const props = Object.fromEntries(
        Array.from({ length: msg.properties.count() }, (_, i) => {
          const p = msg.properties.getItem(i);
          return [p.key, p.value];
        }),
      );
      received.push({ input, id: msg.messageId, body: msg.getData().toString(), props });
    });
    await sink.open();
    await waitUntil(() => device?.hub.metrics().moduleInputs.length === 1);
    const scoring = await device.module('scoring');
    await scoring.sendOutputEvent('collect', await jsonMessage({ n: 1 }, { level: 'info' }, 'to-sink'));
    await waitUntil(() => received.length === 1);
    expect(received[0]).toMatchObject({ input: 'records', id: 'to-sink', body: '{"n":1}' });
    expect(received[0]?.props).toMatchObject({ level: 'info', '$.cmid': 'scoring' });
    expect(device.iothub.messages()).toEqual([]);
    await waitUntil(() => device?.outbox.metrics().queued.count === 0);
  });

  it('serves module twins from the deployment and stores reported properties', async () => {
    device = await startDevice();
    device.hub.setModuleTwins({ scoring: { collectRate: 0.5, nested: { a: 1 } } });
    const scoring = await device.module('scoring');
    await scoring.open();
    const twin = await scoring.getTwin();
    expect(twin.properties.desired).toMatchObject({ collectRate: 0.5, nested: { a: 1 }, $version: 2 });
    const patches: unknown[] = [];
    twin.on('properties.desired', (p: unknown) => patches.push(p));
    await new Promise<void>((resolve, reject) =>
      twin.properties.reported.update({ status: 'ready' }, (err?: Error) => (err ? reject(err) : resolve())),
    );
    expect(device.hub.moduleReported('scoring')).toEqual({ status: 'ready' });
    await waitUntil(() => patches.length >= 1);
    device.hub.setModuleTwins({ scoring: { collectRate: 1 } });
    await waitUntil(() => patches.some((p) => (p as { collectRate?: number }).collectRate === 1));
    expect(twin.properties.desired).toMatchObject({ collectRate: 1, $version: 3 });
    expect(twin.properties.desired.nested).toBeUndefined();
  });

  it('invokes direct methods on a module and says when it is not connected', async () => {
    device = await startDevice();
    await expect(device.hub.invokeMethod('scoring', { methodName: 'ping' })).rejects.toMatchObject({
      code: 'MODULE_NOT_CONNECTED',
    });
    const scoring = await device.module('scoring');
    await scoring.open();
    scoring.onMethod('ping', (request, response) => {
      void response?.send(200, { pong: request?.payload });
    });
    await waitUntil(() => device?.hub.metrics().connectedModules.includes('scoring') === true);
    await waitUntil(async () => {
      try {
        const result = await device?.hub.invokeMethod('scoring', {
          methodName: 'ping',
          payload: { n: 7 },
          responseTimeoutInSeconds: 5,
        });
        expect(result).toEqual({ status: 200, payload: { pong: { n: 7 } } });
        return true;
      } catch {
        // The SDK subscribes to methods in the background after open(): try again shortly.
        return false;
      }
    });
  });

  it('acknowledges and counts a message no route matches', async () => {
    device = await startDevice({ routes: { only: 'FROM /messages/modules/other/* INTO $upstream' } });
    const scoring = await device.module('scoring');
    await scoring.sendOutputEvent('collect', await jsonMessage({ n: 1 }));
    expect(device.hub.metrics()).toMatchObject({ received: 1, routed: 0, unrouted: 1 });
    expect(device.outbox.metrics().queued.count).toBe(0);
  });
});

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
