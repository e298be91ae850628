/** The collection queue: bounded, retried, never blocking the producer; every drop counted by reason. */
import { describe, expect, it } from 'vitest';
import type { EncodedRecord } from '../../../modules/scoring/collect/encode.js';
import { CollectQueue, type CollectSink, type DropReason } from '../../../modules/scoring/collect/queue.js';

const rec = (id: string): EncodedRecord => ({
  messageId: id,
  body: `{"requestId":"${id}"}`,
  properties: { model: 'm', version: '1', requestId: id },
});

/** A sink that accepts while `online`, remembering what it stored in order; sends can be held. */
class MemorySink implements CollectSink {
  online = true;
  stored: string[] = [];
  attempts = 0;
  closed = false;
  hold: Promise<void> | undefined;
  async send(r: EncodedRecord): Promise<void> {
    this.attempts += 1;
    await this.hold;
    if (!this.online) throw new Error('hub unreachable');
    this.stored.push(r.messageId);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

function counting() {
  const seen = { dropped: [] as DropReason[], sent: 0, failures: 0, resumed: 0, length: 0 };
  return {
    observer: {
      sent: () => {
        seen.sent += 1;
      },
      dropped: (r: DropReason) => {
        seen.dropped.push(r);
      },
      failed: () => {
        seen.failures += 1;
      },
      resumed: () => {
        seen.resumed += 1;
      },
      length: (n: number) => {
        seen.length = n;
      },
    },
    get: () => seen,
  };
}

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('collect queue', () => {
  it('sends everything pushed, in order with a window of 1', async () => {
    const sink = new MemorySink();
    const c = counting();
    const q = new CollectQueue({ sink, limit: 100, window: 1, observer: c.observer });
    for (let i = 0; i < 20; i += 1) q.push(rec(`r${i}`));
    await until(() => sink.stored.length === 20);
    expect(sink.stored).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}`));
    expect(c.get()).toMatchObject({ sent: 20, dropped: [], length: 0 });
  });

  it('keeps records while the sink fails and sends them all once it accepts again', async () => {
    const sink = new MemorySink();
    sink.online = false;
    const c = counting();
    const q = new CollectQueue({
      sink,
      limit: 100,
      initialBackoffMs: 10,
      maxBackoffMs: 20,
      observer: c.observer,
    });
    for (let i = 0; i < 30; i += 1) q.push(rec(`r${i}`));
    await until(() => c.get().failures >= 3);
    expect(sink.stored).toEqual([]);
    expect(q.length).toBe(30);
    sink.online = true;
    await until(() => sink.stored.length === 30);
    expect(new Set(sink.stored).size).toBe(30);
    expect(c.get()).toMatchObject({ sent: 30, dropped: [], resumed: 1 });
  });

  it('drops the oldest waiting records past the limit, counted as queue_full', async () => {
    const sink = new MemorySink();
    let release: () => void = () => undefined;
    sink.hold = new Promise((r) => {
      release = r;
    });
    const c = counting();
    const q = new CollectQueue({ sink, limit: 5, window: 1, observer: c.observer });
    for (let i = 0; i < 10; i += 1) q.push(rec(`r${i}`));
    // r0 is in flight; r1…r4 were pushed out by r6…r9.
    expect(c.get().dropped).toEqual(['queue_full', 'queue_full', 'queue_full', 'queue_full']);
    release();
    await until(() => sink.stored.length === 6);
    expect(sink.stored).toEqual(['r0', 'r5', 'r6', 'r7', 'r8', 'r9']);
  });

  it('keeps the limit when failed records come back while the queue filled up (oldest dropped, counted)', async () => {
    const sink = new MemorySink();
    sink.online = false;
    let release: () => void = () => undefined;
    sink.hold = new Promise((r) => {
      release = r;
    });
    const c = counting();
    const q = new CollectQueue({
      sink,
      limit: 4,
      window: 3,
      initialBackoffMs: 60_000,
      observer: c.observer,
    });
    // r0…r2 in flight, then r3…r6 fill the waiting queue to its limit.
    for (let i = 0; i < 7; i += 1) q.push(rec(`r${i}`));
    expect(c.get().dropped).toEqual([]);
    release();
    await until(() => c.get().failures === 1 && q.length <= 4 && c.get().dropped.length === 3);
    // The three failed records came back in front and were the oldest: the limit holds.
    expect(q.length).toBe(4);
    expect(c.get().dropped).toEqual(['queue_full', 'queue_full', 'queue_full']);
    sink.online = true;
    await q.close(1_000);
    expect(sink.stored).toEqual(['r3', 'r4', 'r5', 'r6']);
  });

  it('close drains within the grace period; what is left after it is dropped as shutdown', async () => {
    const sink = new MemorySink();
    const c = counting();
    const q = new CollectQueue({ sink, limit: 100, observer: c.observer });
    q.push(rec('a'));
    q.push(rec('b'));
    await q.close(1_000);
    expect(sink.stored).toEqual(['a', 'b']);
    expect(sink.closed).toBe(true);
    q.push(rec('late'));
    expect(c.get().dropped).toEqual(['shutdown']);

    const offline = new MemorySink();
    offline.online = false;
    const c2 = counting();
    const q2 = new CollectQueue({
      sink: offline,
      limit: 100,
      initialBackoffMs: 60_000,
      observer: c2.observer,
    });
    for (let i = 0; i < 4; i += 1) q2.push(rec(`r${i}`));
    await q2.close(50);
    expect(c2.get().dropped).toEqual(['shutdown', 'shutdown', 'shutdown', 'shutdown']);
    expect(c2.get().length).toBe(0);
  });
});
