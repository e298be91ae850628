import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OutboxError, OutboxRefusal } from '../../../agent/upstream/errors.js';
import { IOT_HUB_MAX_MESSAGE_BYTES } from '../../../agent/upstream/message.js';
import type { DropSummary } from '../../../agent/upstream/outbox.js';
import { Clock, drainOrder, msg, type OutboxFixture, outboxFixture } from './helpers.js';

let fx: OutboxFixture;
afterEach(() => fx?.cleanup());

describe('outbox: durable enqueue', () => {
  it('keeps committed messages across a close and reopen, with their ids and properties', async () => {
    fx = outboxFixture();
    const outbox = await fx.open();
    const a = msg({
      messageId: 'a',
      appProperties: { type: 'collect', module: 'scoring', output: 'collect' },
    });
    const b = msg({
      messageId: 'b',
      systemProperties: { contentType: 'application/json', outputName: 'collect' },
    });
    await Promise.all([outbox.enqueue(a), outbox.enqueue(b)]);
    outbox.close();

    const reopened = await fx.open();
    expect(drainOrder(reopened)).toEqual(['a', 'b']);
    const [first] = reopened.fetch('$upstream', 5, 0, 1);
    expect(first?.appProperties).toEqual(a.appProperties);
    expect(first?.body.toString()).toBe('{"x":1}');
    const [, second] = reopened.fetch('$upstream', 5, 0, 2);
    expect(second?.systemProperties.outputName).toBe('collect');
    expect(reopened.metrics().queued.count).toBe(2);
    expect(reopened.metrics().totals.enqueued).toBe(2);
  });

  it('orders by priority (0 first), then by age, across endpoints kept apart', async () => {
    fx = outboxFixture();
    const outbox = await fx.open();
    await outbox.enqueue([
      msg({ messageId: 'p5-1', priority: 5 }),
      msg({ messageId: 'p0-1', priority: 0 }),
      msg({ messageId: 'def-1', priority: 10 }),
      msg({ messageId: 'other', priority: 0, endpoint: 'modules/b/inputs/in1' }),
      msg({ messageId: 'p5-2', priority: 5 }),
      msg({ messageId: 'p0-2', priority: 0 }),
    ]);
    expect(drainOrder(outbox)).toEqual(['p0-1', 'p0-2', 'p5-1', 'p5-2', 'def-1']);
    expect(drainOrder(outbox, 'modules/b/inputs/in1')).toEqual(['other']);
  });

  it('refuses a message over 256 KB (body and properties) with a clear reason and stores nothing', async () => {
    fx = outboxFixture();
    const outbox = await fx.open();
    const body = Buffer.alloc(IOT_HUB_MAX_MESSAGE_BYTES - 10, 0x61);
    const big = msg({ messageId: 'big', body, appProperties: { note: 'x'.repeat(100) } });
    const err = await outbox.enqueue(big).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutboxRefusal);
    expect((err as OutboxRefusal).code).toBe('OUTBOX_MESSAGE_TOO_LARGE');
    expect((err as OutboxRefusal).message).toMatch(/over IoT Hub's limit of 262144 bytes/);
    expect((err as OutboxRefusal).httpStatus).toBe(413);
    await outbox.enqueue(msg({ messageId: 'next' }));
    expect(drainOrder(outbox)).toEqual(['next']);
    expect(outbox.metrics().refused).toBe(1);
  });

  it('refuses a malformed message (priority out of range)', async () => {
    fx = outboxFixture();
    const outbox = await fx.open();
    const err = await outbox.enqueue(msg({ priority: 11 })).catch((e: unknown) => e);
    expect((err as OutboxRefusal).code).toBe('OUTBOX_INVALID_MESSAGE');
    expect((err as Error).message).toMatch(/priority 11/);
  });
});

describe('outbox: time to live', () => {
  it('expires messages by their own TTL, never hands them out, and counts them per route', async () => {
    fx = outboxFixture();
    const clock = new Clock();
    const outbox = await fx.open({ now: clock.now });
    const drops: DropSummary[] = [];
    outbox.onDropped((d) => drops.push(...d));
    await outbox.enqueue([
      msg({ messageId: 'short-1', timeToLiveSecs: 60, route: 'fast' }),
      msg({ messageId: 'long', timeToLiveSecs: 3600, route: 'slow' }),
      msg({ messageId: 'short-2', timeToLiveSecs: 60, route: 'fast', priority: 1 }),
      msg({ messageId: 'forever', timeToLiveSecs: 0, route: 'slow' }),
    ]);
    clock.advance(61_000);
    expect(drainOrder(outbox)).toEqual(['long', 'forever']);
    expect(outbox.sweepExpired()).toBe(2);
    expect(drops.map((d) => [d.reason, d.route, d.priority, d.count]).sort()).toEqual([
      ['expired', 'fast', 1, 1],
      ['expired', 'fast', 5, 1],
    ]);
    const m = outbox.metrics();
    expect(m.totals.expired).toBe(2);
    expect(m.droppedByRoute).toEqual({ fast: { expired: 2, evicted: 0, rejected: 0 } });
    expect(m.queued.count).toBe(2);
    clock.advance(3600_000);
    expect(outbox.sweepExpired()).toBe(1);
    expect(drainOrder(outbox)).toEqual(['forever']);
  });
});

describe('outbox: disk cap', () => {
  it('evicts the oldest messages of the lowest priority first, counts and reports them', async () => {
    fx = outboxFixture();
    const body = Buffer.alloc(1000, 0x62);
    // Each row counts body + properties + overhead (~1.2 KB); the cap holds 10 of them.
    const one =
      body.length +
      96 +
      'application/json'.length +
      'utf-8'.length +
      'type'.length +
      'telemetry'.length +
      'module'.length +
      2;
    const outbox = await fx.open({ capBytes: one * 10 });
    const drops: DropSummary[] = [];
    outbox.onDropped((d) => drops.push(...d));
    const ids = (p: number, n: number) => Array.from({ length: n }, (_, i) => `p${p}-${i}`);
    for (const id of ids(9, 4)) await outbox.enqueue(msg({ messageId: id, priority: 9, body }));
    for (const id of ids(2, 4)) await outbox.enqueue(msg({ messageId: id, priority: 2, body }));
    for (const id of ids(10, 2)) await outbox.enqueue(msg({ messageId: id, priority: 10, body }));
    expect(outbox.metrics().totals.evicted).toBe(0);

    // Three more of priority 5: three must go, the oldest of the lowest priority (10, then 9).
    await outbox.enqueue([5, 5, 5].map((p, i) => msg({ messageId: `p5-${i}`, priority: p, body })));
    expect(drainOrder(outbox)).toEqual([
      'p2-0',
      'p2-1',
      'p2-2',
      'p2-3',
      'p5-0',
      'p5-1',
      'p5-2',
      'p9-1',
      'p9-2',
      'p9-3',
    ]);
    expect(drops.map((d) => [d.reason, d.priority, d.count])).toEqual([
      ['evicted', 10, 2],
      ['evicted', 9, 1],
    ]);
    const m = outbox.metrics();
    expect(m.totals.evicted).toBe(3);
    expect(m.queued.count).toBe(10);
    expect(m.queued.bytes).toBeLessThanOrEqual(m.capBytes);
    outbox.close();
    const reopened = await fx.open({ capBytes: one * 10 });
    expect(reopened.metrics().totals.evicted).toBe(3);
    expect(reopened.metrics().queued.count).toBe(10);
  });

  it('makes room when the file ceiling (a full disk) is reached before the cap', async () => {
    fx = outboxFixture();
    const outbox = await fx.open({ capBytes: 1024 ** 3, maxFileBytes: 1024 * 1024 });
    const body = Buffer.alloc(1000, 0x63);
    for (let i = 0; i < 40; i += 1) {
      await outbox.enqueue(Array.from({ length: 50 }, (_, j) => msg({ messageId: `m${i}-${j}`, body })));
    }
    const m = outbox.metrics();
    expect(m.totals.enqueued).toBe(2000);
    expect(m.totals.evicted).toBeGreaterThan(0);
    expect(m.queued.count + m.totals.evicted).toBe(2000);
    // The newest are kept: the last message is still there.
    expect(outbox.fetch('$upstream', 5, 0, 5000).at(-1)?.messageId).toBe('m39-49');
  });

  it('fails a commit it cannot make, with a clear error and a failing status, then recovers', async () => {
    fx = outboxFixture();
    const outbox = await fx.open({ capBytes: 1024 ** 3, maxFileBytes: 96 * 1024 });
    const huge = Buffer.alloc(200 * 1024, 0x64);
    const err = await outbox.enqueue(msg({ messageId: 'huge', body: huge })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutboxError);
    expect((err as OutboxError).code).toBe('OUTBOX_WRITE_FAILED');
    expect((err as OutboxError).message).toMatch(/full/);
    expect(outbox.getStatus().state).toBe('failing');
    expect(outbox.getStatus().lastError?.code).toBe('SQLITE_FULL');
    await outbox.enqueue(msg({ messageId: 'small' }));
    expect(outbox.getStatus().state).toBe('ok');
    expect(drainOrder(outbox)).toEqual(['small']);
  });
});

describe('outbox: broken files', () => {
  it('moves a corrupt outbox aside, starts empty and says so in its status', async () => {
    fx = outboxFixture();
    writeFileSync(fx.path, 'this is not a database '.repeat(300));
    const outbox = await fx.open();
    const status = outbox.getStatus();
    expect(status.recoveredFromCorruption?.movedTo).toMatch(/outbox\.db\.corrupt-/);
    expect(status.recoveredFromCorruption?.error).toMatch(/not a database/);
    await outbox.enqueue(msg({ messageId: 'after' }));
    expect(drainOrder(outbox)).toEqual(['after']);
  });

  it('fails with OUTBOX_CORRUPT when asked not to move it', async () => {
    fx = outboxFixture();
    writeFileSync(fx.path, 'garbage'.repeat(1000));
    const err = await fx.open({ onCorrupt: 'fail' }).catch((e: unknown) => e);
    expect((err as OutboxError).code).toBe('OUTBOX_CORRUPT');
    expect((err as OutboxError).hint).toMatch(/move the file aside/);
  });

  it('fails with OUTBOX_UNAVAILABLE when its folder cannot exist', async () => {
    fx = outboxFixture();
    const file = join(fx.dir, 'a-file');
    writeFileSync(file, 'x');
    const err = await fx.open({ path: join(file, 'outbox.db') }).catch((e: unknown) => e);
    expect((err as OutboxError).code).toBe('OUTBOX_UNAVAILABLE');
    expect((err as OutboxError).message).toMatch(/cannot create the outbox folder/);
  });
});
