/**
 * The bounded queue between scoring and a collection sink: `push` never waits and never throws
 * (scoring does not wait on collection); a pump sends up to `window` records at once, keeps a record
 * that failed and retries it after a back-off (1 s doubling to 30 s), so records survive the edge
 * hub going away for a while (the agent restarting). What cannot be kept is dropped and counted:
 * the oldest record when the queue is full, a record too large for IoT Hub, what is left at close.
 */
import type { EncodedRecord } from './encode.js';

export type DropReason = 'queue_full' | 'too_large' | 'shutdown';

export interface CollectSink {
  /** Resolves once the record is stored (edge hub PUBACK, file write). */
  send(record: EncodedRecord): Promise<void>;
  close(): Promise<void>;
}

export interface QueueObserver {
  sent(): void;
  dropped(reason: DropReason): void;
  failed(error: unknown, retryInMs: number): void;
  resumed(): void;
  length(n: number): void;
}

export interface CollectQueueOptions {
  sink: CollectSink;
  limit: number;
  /** Records in flight at once (default 8). */
  window?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  observer: QueueObserver;
}

export class CollectQueue {
  private readonly waiting: EncodedRecord[] = [];
  private inFlight = 0;
  private failures = 0;
  private backoff: NodeJS.Timeout | undefined;
  private closed = false;
  private idle: (() => void) | undefined;

  constructor(private readonly options: CollectQueueOptions) {}

  get length(): number {
    return this.waiting.length + this.inFlight;
  }

  push(record: EncodedRecord): void {
    if (this.closed) {
      this.options.observer.dropped('shutdown');
      return;
    }
    if (this.waiting.length >= this.options.limit) {
      this.waiting.shift();
      this.options.observer.dropped('queue_full');
    }
    this.waiting.push(record);
    this.options.observer.length(this.length);
    this.pump();
  }

  /** Stops taking records, waits up to `graceMs` for the queue to drain, then drops the rest. */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    if (this.length > 0) {
      // Sending again now rather than at the end of a back-off: the grace period is short.
      clearTimeout(this.backoff);
      this.backoff = undefined;
      this.pump();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => {
          this.idle = resolve;
        }),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    for (const _ of this.waiting.splice(0)) this.options.observer.dropped('shutdown');
    this.options.observer.length(this.length);
    await this.options.sink.close();
  }

  private pump(): void {
    const window = this.options.window ?? 8;
    while (this.backoff === undefined && this.inFlight < window && this.waiting.length > 0) {
      const record = this.waiting.shift() as EncodedRecord;
      this.inFlight += 1;
      this.options.sink.send(record).then(
        () => this.settled(true),
        (error: unknown) => {
          // Kept, in front: it goes again first after the back-off (closing: there is no after).
          if (this.closed) this.options.observer.dropped('shutdown');
          else this.putBack(record);
          this.settled(false, error);
        },
      );
    }
  }

  /**
   * A failed record goes back in front; pushes made while it was in flight may have filled the
   * queue, so the limit holds here too: the oldest (front) records go, counted as queue_full.
   */
  private putBack(record: EncodedRecord): void {
    this.waiting.unshift(record);
    while (this.waiting.length > this.options.limit) {
      this.waiting.shift();
      this.options.observer.dropped('queue_full');
    }
  }

  private settled(ok: boolean, error?: unknown): void {
    this.inFlight -= 1;
    if (ok) {
      this.options.observer.sent();
      if (this.failures > 0) {
        this.failures = 0;
        this.options.observer.resumed();
      }
    } else if (this.backoff === undefined && !this.closed) {
      this.failures += 1;
      const initial = this.options.initialBackoffMs ?? 1_000;
      const delay = Math.min(this.options.maxBackoffMs ?? 30_000, initial * 2 ** (this.failures - 1));
      this.options.observer.failed(error, delay);
      this.backoff = setTimeout(() => {
        this.backoff = undefined;
        this.pump();
      }, delay);
      this.backoff.unref();
    }
    this.options.observer.length(this.length);
    if (this.length === 0) this.idle?.();
    else this.pump();
  }
}
