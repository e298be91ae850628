/**
 * Store-and-forward across a cut link, end to end with real parts: a stock module client produces
 * through the hub while the IoT Hub emulator refuses connections, and everything arrives after.
 */
import { Message } from 'azure-iot-device';
import { afterEach, describe, expect, it } from 'vitest';
import { startDropAlerts } from '../../../agent/upstream/drop-alerts.js';
import { upstreamEvents } from '../../../agent/upstream/events.js';
import { silentLogger } from '../../../common/logger.js';
import { DEVICE, type Device, startDevice } from '../hub/harness.js';
import { Clock } from './helpers.js';

let device: Device | undefined;
afterEach(async () => {
  await device?.close();
  device = undefined;
});

/** Runs `task(i)` for i in [0, n) with at most `concurrency` at once. */
async function pool(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

async function waitForIds(device: Device, ids: ReadonlySet<string>, timeoutMs: number): Promise<Set<string>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const seen = new Set(
      device.iothub.messages({ moduleId: '$edgeHub' }).map((m) => m.systemProperties.messageId ?? ''),
    );
    const missing = [...ids].filter((id) => !seen.has(id));
    if (missing.length === 0) return seen;
    if (Date.now() > until)
      throw new Error(
        `${missing.length} of ${ids.size} ids never arrived (e.g. ${missing.slice(0, 5).join(', ')})`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('link cut', () => {
  it('10,000 messages produced while IoT Hub refuses connections for 30 s all arrive after, each id at least once', async () => {
    device = await startDevice();
    const scoring = await device.module('scoring');
    await scoring.open();

    device.iothub.faults.refuseFor(30_000);
    device.iothub.faults.dropAll();
    const acked = new Set<string>();
    await pool(10_000, 100, async (i) => {
      const m = new Message(JSON.stringify({ i, requestId: `req-${i}` }));
      m.messageId = `m-${i}`;
      m.contentType = 'application/json';
      m.contentEncoding = 'utf-8';
      await scoring.sendOutputEvent('collect', m);
      acked.add(m.messageId);
    });
    expect(acked.size).toBe(10_000);
    // Acknowledged by the hub means stored on the device: all of it is in the outbox or already sent.
    const held = device.outbox.metrics();
    expect(held.queued.count + held.totals.sent).toBe(10_000);
    // The upstream link really was cut: IoT Hub refused the sender's reconnections (CONNACK 3).
    const refused = () =>
      device?.iothub
        .connectionAttempts()
        .filter((a) => a.clientId === `${DEVICE}/$edgeHub` && a.returnCode === 3) ?? [];
    await expect.poll(() => refused().length, { timeout: 30_000 }).toBeGreaterThan(0);

    const seen = await waitForIds(device, acked, 150_000);
    expect(seen.size).toBeGreaterThanOrEqual(10_000);
    const m = device.outbox.metrics();
    expect(m.totals).toMatchObject({ enqueued: 10_000, expired: 0, evicted: 0, rejected: 0 });
    await expect.poll(() => device?.outbox.metrics().queued.count, { timeout: 10_000 }).toBe(0);
  }, 240_000);

  it('messages that expire while the link is down are never sent, and are reported upstream in an alert', async () => {
    const clock = new Clock(Date.now());
    device = await startDevice({
      outbox: { now: clock.now, sweepIntervalMs: 0 },
      sender: { window: 2 },
      routes: { short: 'FROM /messages/modules/scoring/* INTO $upstream' },
    });
    device.hub.applyEdgeHubDesired({
      routes: [
        {
          name: 'short',
          route: 'FROM /messages/modules/scoring/* INTO $upstream',
          priority: 3,
          timeToLiveSecs: 60,
        },
      ],
      storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
    });
    const alerts = startDropAlerts({
      outbox: device.outbox,
      events: upstreamEvents(silentLogger()),
      now: clock.now,
    });
    await device.iothub.stop();
    const scoring = await device.module('scoring');
    for (let i = 0; i < 5; i += 1) {
      const m = new Message('{}');
      m.messageId = `short-${i}`;
      await scoring.sendEvent(m);
    }
    // Two are in flight (the SDK retries them until IoT Hub is back): those are not expired.
    await expect.poll(() => device?.sender.stats().inFlight, { timeout: 10_000 }).toBe(2);
    clock.advance(61_000);
    expect(device.outbox.sweepExpired()).toBe(3);
    await alerts.flush();
    alerts.stop();
    await device.iothub.start();

    const [alert] = await device.iothub.waitForMessages((m) => m.appProperties.type === 'alert', 1, 60_000);
    expect(alert?.appProperties).toEqual({ type: 'alert', module: '$agent' });
    expect(JSON.parse(alert?.body.toString() ?? '')).toMatchObject({
      kind: 'messages-dropped',
      drops: [{ reason: 'expired', endpoint: '$upstream', route: 'short', priority: 3, count: 3 }],
    });
    const sent = await device.iothub.waitForMessages(
      (m) => m.systemProperties.messageId?.startsWith('short-') ?? false,
      2,
      60_000,
    );
    expect(sent.map((m) => m.systemProperties.messageId).sort()).toEqual(['short-0', 'short-1']);
    expect(device.outbox.metrics().droppedByRoute).toEqual({
      short: { expired: 3, evicted: 0, rejected: 0 },
    });
    await expect.poll(() => device?.outbox.metrics().queued.count, { timeout: 10_000 }).toBe(0);
    expect(device.iothub.messages((m) => /^short-[234]$/.test(m.systemProperties.messageId ?? ''))).toEqual(
      [],
    );
  }, 120_000);
});
