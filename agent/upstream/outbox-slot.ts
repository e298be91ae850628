/**
 * An outbox that may not be open yet. When the file cannot be opened (a directory in its place, a
 * read-only or full disk, a corrupt file that cannot be moved aside), the agent keeps running its
 * modules instead of exiting into a crash loop: the slot reports `unavailable` with the error,
 * refuses every message with OUTBOX_UNAVAILABLE (so the local hub sends no PUBACK and the module
 * keeps its message), and tries to open the file again with back-off. Once it opens, senders are
 * told about every endpoint holding messages and everything goes through the real outbox.
 */
import { messageOf } from '../../common/errors.js';
import { OutboxError } from './errors.js';
import type { UpstreamEvents } from './events.js';
import type { StoredMessage } from './message.js';
import type { DropSummary, Outbox, OutboxApi, OutboxMetrics, OutboxStatus } from './outbox.js';

export interface OutboxSlotOptions {
  path: string;
  /** Opens the real outbox (openOutbox with its options); throws when it cannot. */
  open: () => Promise<Outbox>;
  events: Pick<UpstreamEvents, 'outboxUnavailable' | 'outboxRecovered'>;
  now?: () => number;
  /** First retry after a failed open (default 1 s), doubled up to `maxRetryMs` (default 30 s). */
  initialRetryMs?: number;
  maxRetryMs?: number;
}

export const OUTBOX_UNAVAILABLE_HINT =
  'the agent keeps retrying; make the outbox path (default <home>/outbox.db) a writable file location';

export class OutboxSlot implements OutboxApi {
  private current: Outbox | undefined;
  private lastError: NonNullable<OutboxStatus['lastError']> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retryMs: number;
  private closed = false;
  private readonly committed = new Set<(endpoints: ReadonlySet<string>) => void>();
  private readonly dropped = new Set<(drops: readonly DropSummary[]) => void>();
  private readonly now: () => number;

  private constructor(private readonly options: OutboxSlotOptions) {
    this.now = options.now ?? Date.now;
    this.retryMs = options.initialRetryMs ?? 1_000;
  }

  /** Tries once now; on failure returns an unavailable slot that keeps trying in the background. */
  static async open(options: OutboxSlotOptions): Promise<OutboxSlot> {
    const slot = new OutboxSlot(options);
    await slot.attempt();
    return slot;
  }

  get available(): boolean {
    return this.current !== undefined;
  }

  enqueue(messages: Parameters<Outbox['enqueue']>[0]): Promise<void> {
    if (this.current) return this.current.enqueue(messages);
    if (this.closed) return Promise.reject(new OutboxError('OUTBOX_CLOSED', 'the outbox is closed'));
    return Promise.reject(
      new OutboxError(
        'OUTBOX_UNAVAILABLE',
        `the outbox ${this.options.path} is unavailable (${this.lastError?.message ?? 'not open yet'}); the message was not stored`,
        { hint: OUTBOX_UNAVAILABLE_HINT },
      ),
    );
  }

  priorities(endpoint: string): number[] {
    return this.current?.priorities(endpoint) ?? [];
  }

  fetch(endpoint: string, priority: number, afterSeq: number, limit: number): StoredMessage[] {
    return this.current?.fetch(endpoint, priority, afterSeq, limit) ?? [];
  }

  markInFlight(seq: number): void {
    this.current?.markInFlight(seq);
  }

  ack(seq: number): void {
    this.current?.ack(seq);
  }

  release(seq: number): void {
    this.current?.release(seq);
  }

  reject(seq: number): void {
    this.current?.reject(seq);
  }

  sweepExpired(): number {
    return this.current?.sweepExpired() ?? 0;
  }

  onCommitted(listener: (endpoints: ReadonlySet<string>) => void): () => void {
    this.committed.add(listener);
    return () => this.committed.delete(listener);
  }

  onDropped(listener: (drops: readonly DropSummary[]) => void): () => void {
    this.dropped.add(listener);
    return () => this.dropped.delete(listener);
  }

  getStatus(): OutboxStatus {
    if (this.current) return this.current.getStatus();
    return { state: 'unavailable', ...(this.lastError && { lastError: { ...this.lastError } }) };
  }

  metrics(): OutboxMetrics {
    if (this.current) return this.current.metrics();
    return {
      status: this.getStatus(),
      capBytes: 0,
      maxFileBytes: 0,
      queued: { count: 0, bytes: 0, oldestAgeMs: undefined, byEndpoint: {} },
      totals: { enqueued: 0, sent: 0, expired: 0, evicted: 0, rejected: 0 },
      refused: 0,
      droppedByRoute: {},
    };
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.current?.close();
  }

  private async attempt(): Promise<void> {
    let outbox: Outbox;
    try {
      outbox = await this.options.open();
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      this.lastError = {
        code: typeof code === 'string' ? code : 'OUTBOX_UNAVAILABLE',
        message: messageOf(e),
        at: new Date(this.now()).toISOString(),
      };
      this.options.events.outboxUnavailable(this.options.path, e, this.retryMs);
      this.timer = setTimeout(() => void this.attempt(), this.retryMs);
      this.timer.unref();
      this.retryMs = Math.min(this.retryMs * 2, this.options.maxRetryMs ?? 30_000);
      return;
    }
    if (this.closed) {
      outbox.close();
      return;
    }
    const wasUnavailable = this.lastError !== undefined;
    this.current = outbox;
    outbox.onCommitted((endpoints) => {
      for (const l of this.committed) l(endpoints);
    });
    outbox.onDropped((drops) => {
      for (const l of this.dropped) l(drops);
    });
    if (wasUnavailable) {
      this.options.events.outboxRecovered(this.options.path);
      // Senders idle on an empty slot: wake those whose endpoint has messages from an earlier run.
      const endpoints = new Set(Object.keys(outbox.metrics().queued.byEndpoint));
      if (endpoints.size > 0) for (const l of this.committed) l(endpoints);
    }
  }
}
