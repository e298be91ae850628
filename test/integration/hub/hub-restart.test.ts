/**
 * The hub restarted on the same home (an agent restart): same port, CA and module keys; a stock
 * module client reconnects on its own and keeps its subscriptions; stored messages go on.
 */
import type { Message } from 'azure-iot-device';
import { afterEach, describe, expect, it } from 'vitest';
import { type Device, jsonMessage, startDevice } from './harness.js';

let device: Device | undefined;
afterEach(async () => {
  await device?.close();
  device = undefined;
});

async function until(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('hub restart', () => {
  it('keeps port, CA and keys; a module client reconnects by itself with its subscriptions; waiting input messages arrive', async () => {
    device = await startDevice({
      routes: { toSink: 'FROM /messages/modules/scoring/* INTO BrokeredEndpoint("/modules/sink/inputs/in")' },
    });
    const { port, caPem } = device.hub;
    const connectionString = device.hub.moduleConnectionString('sink');
    device.hub.setModuleTwins({ sink: { threshold: 1 } });

    const sink = await device.module('sink');
    const inputs: string[] = [];
    sink.on('inputMessage', (_input: string, m: Message) => inputs.push(m.messageId));
    await sink.open();
    const twin = await sink.getTwin();
    const desired: number[] = [];
    twin.on('properties.desired', (p: { threshold?: number }) => {
      if (p.threshold !== undefined) desired.push(p.threshold);
    });
    await until(() => desired.includes(1));
    await until(() => device?.hub.metrics().moduleInputs[0]?.inFlight === 0);

    // The hub restarts (the agent did); the module's client stays and reconnects on its own.
    await device.stopDevice(false);
    await device.startDevice();
    expect(device.hub.port).toBe(port);
    expect(device.hub.caPem).toBe(caPem);
    expect(device.hub.moduleConnectionString('sink')).toBe(connectionString);
    await until(() => device?.hub.connectedModules().includes('sink') === true);

    // Its subscriptions were kept: a desired change and an input message reach the same client.
    device.hub.setModuleTwins({ sink: { threshold: 2 } });
    await until(() => desired.includes(2));
    const scoring = await device.module('scoring');
    await scoring.sendEvent(await jsonMessage({ n: 1 }, {}, 'after-restart'));
    await until(() => inputs.includes('after-restart'));

    // A message for a module that is away waits in the outbox, across another restart.
    await sink.close();
    await scoring.sendEvent(await jsonMessage({ n: 2 }, {}, 'waiting-for-sink'));
    expect(device.outbox.metrics().queued.byEndpoint['modules/sink/inputs/in']?.count).toBe(1);
    await device.stopDevice(true);
    await device.startDevice();
    const again = await device.module('sink');
    again.on('inputMessage', (_input: string, m: Message) => inputs.push(m.messageId));
    await again.open();
    await until(() => inputs.includes('waiting-for-sink'));
    await until(() => device?.outbox.metrics().queued.count === 0);
  }, 120_000);
});
