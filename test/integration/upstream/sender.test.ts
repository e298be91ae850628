import { errors as sdkErrors } from 'azure-iot-common';
import { afterEach, describe, expect, it } from 'vitest';
import { upstreamEvents } from '../../../agent/upstream/events.js';
import { iotHubDelivery } from '../../../agent/upstream/iothub-delivery.js';
import type { StoredMessage } from '../../../agent/upstream/message.js';
import { EndpointSender } from '../../../agent/upstream/sender.js';
import { silentLogger } from '../../../common/logger.js';
import { msg, type OutboxFixture, outboxFixture } from './helpers.js';

let fx: OutboxFixture | undefined;
const senders: EndpointSender[] = [];
afterEach(() => {
  for (const s of senders.splice(0)) s.stop();
  fx?.cleanup();
  fx = undefined;
});

const events = upstreamEvents(silentLogger());

function sender(
  options: Partial<ConstructorParameters<typeof EndpointSender>[0]> &
    Pick<ConstructorParameters<typeof EndpointSender>[0], 'outbox' | 'deliver'>,
) {
  const s = new EndpointSender({
    endpoint: '$upstream',
    events,
    initialBackoffMs: 20,
    maxBackoffMs: 50,
    ...options,
  });
  senders.push(s);
  return s;
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('endpoint sender', () => {
  it('sends priority 0 first, then by age, and deletes each message once acknowledged', async () => {
    fx = outboxFixture();
    const outbox = await fx.open();
    await outbox.enqueue([
      msg({ messageId: 'low-1', priority: 7 }),
      msg({ messageId: 'top-1', priority: 0 }),
      msg({ messageId: 'low-2', priority: 7 }),
      msg({ messageId: 'top-2', priority: 0 }),
    ]);
    const order: string[] = [];
    sender({ outbox, window: 1, deliver: async (m) => void order.push(m.messageId) }).start();
    await until(() => outbox.metrics().queued.count === 0 && order.length === 4);
    expect(order).toEqual(['top-1', 'top-2', 'low-1', 'low-2']);
    expect(outbox.metrics().totals.sent).toBe(4);
  });

  it('takes a new higher-priority message before older lower-priority ones', async () => {
    fx = outboxFixture();
    const outbox = await fx.open();
    await outbox.enqueue(Array.from({ length: 5 }, (_, i) => msg({ messageId: `bulk-${i}`, priority: 9 })));
    const order: string[] = [];
    let release: () => void = () => {};
    const s = sender({
      outbox,
      window: 1,
      deliver: (m) => {
        order.push(m.messageId);
        return m.messageId === 'bulk-0'
          ? new Promise<void>((r) => {
              release = r;
            })
          : Promise.resolve();
      },
    });
    s.start();
    await until(() => order.length === 1);
    await outbox.enqueue(msg({ messageId: 'alert', priority: 0 }));
    release();
    await until(() => order.length === 6);
    expect(order).toEqual(['bulk-0', 'alert', 'bulk-1', 'bulk-2', 'bulk-3', 'bulk-4']);
  });

  it('backs off on failure and sends the same message id again; nothing is lost', async () => {
    fx = outboxFixture();
    const outbox = await fx.open();
    await outbox.enqueue(Array.from({ length: 20 }, (_, i) => msg({ messageId: `m-${i}` })));
    const attempts = new Map<string, number>();
    let failing = true;
    const delivered = new Set<string>();
    const s = sender({
      outbox,
      window: 4,
      deliver: async (m: StoredMessage) => {
        attempts.set(m.messageId, (attempts.get(m.messageId) ?? 0) + 1);
        if (failing) throw new sdkErrors.NotConnectedError('link down');
        delivered.add(m.messageId);
      },
    });
    s.start();
    await until(() => s.stats().consecutiveFailures >= 2);
    expect(s.stats()).toMatchObject({ backingOff: true, lastError: 'link down' });
    failing = false;
    await until(() => outbox.metrics().queued.count === 0);
    expect(delivered.size).toBe(20);
    expect(Math.max(...attempts.values())).toBeGreaterThan(1);
    expect(s.stats().consecutiveFailures).toBe(0);
  });

  it('drops a message IoT Hub refuses for good (counted as rejected) instead of sticking at the head', async () => {
    fx = outboxFixture();
    const outbox = await fx.open();
    await outbox.enqueue([msg({ messageId: 'poison', priority: 0 }), msg({ messageId: 'next' })]);
    const delivery = iotHubDelivery({
      sendEvent: async (m) => {
        if (m.messageId === 'poison')
          throw new sdkErrors.MessageTooLargeError('Message size is greater than 256KiB');
      },
    });
    const sent: string[] = [];
    sender({
      outbox,
      window: 1,
      isPermanent: delivery.isPermanent,
      deliver: async (m) => {
        await delivery.deliver(m);
        sent.push(m.messageId);
      },
    }).start();
    await until(() => outbox.metrics().queued.count === 0);
    expect(sent).toEqual(['next']);
    expect(outbox.metrics().totals).toMatchObject({ rejected: 1, sent: 1 });
    expect(outbox.metrics().droppedByRoute.r1?.rejected).toBe(1);
  });

  it('never evicts a message in flight', async () => {
    fx = outboxFixture();
    const body = Buffer.alloc(1000, 0x61);
    const outbox = await fx.open({ capBytes: 5 * 1200 });
    await outbox.enqueue(msg({ messageId: 'in-flight', priority: 9, body }));
    let release: () => void = () => {};
    const s = sender({
      outbox,
      window: 1,
      deliver: () =>
        new Promise<void>((r) => {
          release = r;
        }),
    });
    s.start();
    await until(() => s.stats().inFlight === 1);
    for (let i = 0; i < 8; i += 1) await outbox.enqueue(msg({ messageId: `new-${i}`, priority: 9, body }));
    expect(outbox.metrics().totals.evicted).toBeGreaterThan(0);
    expect(outbox.fetch('$upstream', 9, 0, 100).map((m) => m.messageId)).toContain('in-flight');
    release();
    await until(() => outbox.metrics().totals.sent === 1);
  });
  it('retryNow ends a back-off at once (the client reconnected), and does nothing when not backing off', async () => {
    fx = outboxFixture();
    const outbox = await fx.open();
    await outbox.enqueue(msg({ messageId: 'waits' }));
    let online = false;
    const attempts: string[] = [];
    // A back-off far longer than the test may run: only retryNow can end it in time.
    const s = sender({
      outbox,
      initialBackoffMs: 600_000,
      maxBackoffMs: 600_000,
      deliver: async (m) => {
        attempts.push(m.messageId);
        if (!online) throw new Error('not connected');
      },
    });
    s.retryNow();
    s.start();
    await until(() => s.stats().backingOff);
    expect(attempts).toEqual(['waits']);
    online = true;
    s.retryNow();
    await until(() => outbox.metrics().totals.sent === 1);
    expect(attempts).toEqual(['waits', 'waits']);
    expect(s.stats()).toMatchObject({ backingOff: false, consecutiveFailures: 0, delivered: 1 });
  });
});
