/**
 * Drains one endpoint of the outbox: keeps up to `window` messages in flight, highest priority
 * first (each refill starts again from priority 0, as edgeHub's pump does), deletes a message only
 * after the endpoint acknowledged it, and backs off when the endpoint fails. Messages are read in
 * pages of at most `window` rows, never the whole queue.
 */
import type { UpstreamEvents } from './events.js';
import type { StoredMessage } from './message.js';
import type { OutboxApi } from './outbox.js';

export interface EndpointSenderOptions {
  outbox: OutboxApi;
  endpoint: string;
  /** Resolves when the endpoint acknowledged the message. */
  deliver: (message: StoredMessage) => Promise<void>;
  /** Errors that will never succeed for this message: it is dropped (counted as rejected). */
  isPermanent?: (error: unknown) => boolean;
  /** Messages in flight at once (default 32). */
  window?: number;
  /**
   * A delivery not settled after this long counts as failed (default 300 s), so a promise that
   * never settles cannot pin the window. Longer than the device SDK's own retries of one send
   * (4 minutes): a send the SDK is still retrying may yet arrive, so until then it stays in flight
   * (and is neither expired nor evicted).
   */
  deliveryTimeoutMs?: number;
  /** First retry delay after a failure (default 1 s), doubled up to `maxBackoffMs` (default 30 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  events: UpstreamEvents;
}

export interface SenderStats {
  endpoint: string;
  inFlight: number;
  delivered: number;
  backingOff: boolean;
  consecutiveFailures: number;
  lastError: string | undefined;
}

export class EndpointSender {
  private readonly cursors = new Map<number, number>();
  private readonly inFlight = new Set<number>();
  private running = false;
  private paused = false;
  private backingOff = false;
  private resumeWhenIdle = false;
  private failures = 0;
  private delivered = 0;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly window: number;

  constructor(private readonly options: EndpointSenderOptions) {
    this.window = options.window ?? 32;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.options.outbox.onCommitted((endpoints) => {
      if (endpoints.has(this.options.endpoint)) this.fill();
    });
    this.fill();
  }

  /** Stops taking messages; those in flight finish on their own (unacknowledged ones are sent again later). */
  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.unsubscribe?.();
  }

  /** While paused (e.g. the target module is offline) nothing is taken; `resume` starts again from the oldest. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.inFlight.size === 0) this.cursors.clear();
    else this.resumeWhenIdle = true;
    this.fill();
  }

  /**
   * The endpoint is back (its client reconnected): ends a back-off now rather than at its timer, so
   * a queue built up while offline starts draining at once. The failure count stays until a success.
   */
  retryNow(): void {
    if (!this.running || !this.backingOff) return;
    clearTimeout(this.timer);
    this.endBackoff();
  }

  stats(): SenderStats {
    return {
      endpoint: this.options.endpoint,
      inFlight: this.inFlight.size,
      delivered: this.delivered,
      backingOff: this.backingOff,
      consecutiveFailures: this.failures,
      lastError: this.lastError,
    };
  }

  /**
   * Takes messages until the window is full or nothing is left. Called after every settled
   * delivery, it reads only once half the window is free, so the outbox is read in pages.
   */
  fill(): void {
    if (!this.running || this.paused || this.backingOff || this.resumeWhenIdle) return;
    if (this.inFlight.size > this.window / 2) return;
    try {
      while (this.inFlight.size < this.window) {
        const batch = this.next(this.window - this.inFlight.size);
        if (batch.length === 0) return;
        for (const message of batch) this.dispatch(message);
      }
    } catch (e) {
      // Reading the outbox failed (damaged page, closed database): retry later like a failed send.
      this.failed(e);
    }
  }

  private next(limit: number): StoredMessage[] {
    const { outbox, endpoint } = this.options;
    for (const priority of outbox.priorities(endpoint)) {
      const rows = outbox.fetch(endpoint, priority, this.cursors.get(priority) ?? 0, limit);
      if (rows.length > 0) return rows;
    }
    return [];
  }

  private dispatch(message: StoredMessage): void {
    const { outbox } = this.options;
    this.inFlight.add(message.seq);
    this.cursors.set(message.priority, message.seq);
    outbox.markInFlight(message.seq);
    withTimeout(
      this.options.deliver(message),
      this.options.deliveryTimeoutMs ?? 300_000,
      this.options.endpoint,
    ).then(
      () => {
        this.inFlight.delete(message.seq);
        outbox.ack(message.seq);
        this.delivered += 1;
        if (this.failures > 0 && !this.backingOff) {
          this.failures = 0;
          this.options.events.senderResumed(this.options.endpoint);
        }
        this.settled();
      },
      (error: unknown) => {
        this.inFlight.delete(message.seq);
        if (this.options.isPermanent?.(error)) {
          outbox.reject(message.seq);
          this.options.events.sendRejected(this.options.endpoint, message.messageId, error);
        } else {
          outbox.release(message.seq);
          this.failed(error);
        }
        this.settled();
      },
    );
  }

  private settled(): void {
    if (this.resumeWhenIdle && this.inFlight.size === 0) {
      this.resumeWhenIdle = false;
      this.cursors.clear();
    }
    this.fill();
  }

  private failed(error: unknown): void {
    this.lastError = error instanceof Error ? error.message : String(error);
    if (this.backingOff) return;
    this.backingOff = true;
    this.failures += 1;
    const initial = this.options.initialBackoffMs ?? 1000;
    const delay = Math.min(this.options.maxBackoffMs ?? 30_000, initial * 2 ** (this.failures - 1));
    this.options.events.senderBackingOff(this.options.endpoint, error, delay);
    this.timer = setTimeout(() => this.endBackoff(), delay);
    this.timer.unref();
  }

  private endBackoff(): void {
    this.backingOff = false;
    // Start again from the oldest message of each priority, once nothing is in flight any more.
    if (this.inFlight.size === 0) this.cursors.clear();
    else this.resumeWhenIdle = true;
    this.fill();
  }
}

function withTimeout(work: Promise<void>, ms: number, endpoint: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${endpoint} did not acknowledge within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
