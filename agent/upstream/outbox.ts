/**
 * The store-and-forward outbox: every message is committed to SQLite (WAL, synchronous=FULL)
 * before its producer hears "accepted", stays until its endpoint acknowledged it, and leaves early
 * only by its time to live or the disk cap, both counted and reported.
 *
 * Group commit: `enqueue` calls made in the same event-loop turn share one transaction, committed
 * on `setImmediate`; each call's promise settles after that commit (one fsync for many producers).
 * Acknowledgements from senders are deleted in the same transactions.
 *
 * Why FULL and not NORMAL: with WAL, NORMAL skips the fsync at commit, so after a power loss the
 * last transactions (messages already acknowledged to producers) can be gone. FULL fsyncs the WAL at
 * every commit; group commit pays that once per batch, which keeps the enqueue rate high.
 */

import type { Db } from '../../common/db.js';
import { closeDb } from '../../common/db.js';
import { messageOf } from '../../common/errors.js';
import { OutboxError, OutboxRefusal } from './errors.js';
import type { DropReason, UpstreamEvents } from './events.js';
import { checkMessage, type OutboxMessage, ROW_OVERHEAD_BYTES, type StoredMessage } from './message.js';
import { type CounterName, OutboxStore } from './store.js';
import { Totals } from './totals.js';
import { commitBatch, type DroppedRow, expireBatch, type TransactionResult } from './transactions.js';

export interface DropSummary {
  reason: DropReason;
  endpoint: string;
  route: string;
  priority: number;
  count: number;
  bytes: number;
}

export interface OutboxStatus {
  /** `unavailable`: the file cannot be opened (yet); the agent retries (agent/upstream/outbox-slot.ts). */
  state: 'ok' | 'failing' | 'unavailable';
  lastError?: { code: string; message: string; at: string };
  /** Set when a corrupt outbox was moved aside at start (its messages could not be read). */
  recoveredFromCorruption?: { movedTo: string; error: string };
}

export interface OutboxMetrics {
  status: OutboxStatus;
  capBytes: number;
  maxFileBytes: number;
  queued: {
    count: number;
    bytes: number;
    oldestAgeMs: number | undefined;
    byEndpoint: ReturnType<Totals['snapshot']>;
  };
  /** Lifetime counts, kept in the database. */
  totals: Record<CounterName, number>;
  /** Since this process started: refused producers (too large, malformed). */
  refused: number;
  /** Since this process started, per route: what left without being sent. */
  droppedByRoute: Record<string, Record<DropReason, number>>;
}

/** What producers, senders and reporters use of an outbox: an Outbox, or an OutboxSlot waiting for one. */
export type OutboxApi = Pick<
  Outbox,
  | 'enqueue'
  | 'priorities'
  | 'fetch'
  | 'markInFlight'
  | 'ack'
  | 'release'
  | 'reject'
  | 'sweepExpired'
  | 'onCommitted'
  | 'onDropped'
  | 'getStatus'
  | 'metrics'
  | 'close'
>;

export interface OutboxConfig {
  capBytes: number;
  maxFileBytes: number;
  now: () => number;
  events: UpstreamEvents;
  /** Most messages committed in one transaction; more wait for the next turn. */
  maxBatch?: number;
  /** How often expired messages are deleted (and counted); 0 = only when `sweepExpired()` is called. */
  sweepIntervalMs?: number;
  recoveredFromCorruption?: OutboxStatus['recoveredFromCorruption'];
}

interface PendingInsert {
  message: OutboxMessage;
  size: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

const COUNTERS: readonly CounterName[] = ['enqueued', 'sent', 'expired', 'evicted', 'rejected'];
const ACK_FLUSH_MS = 100;
const ACK_FLUSH_COUNT = 1000;

export class Outbox {
  private readonly store: OutboxStore;
  private seq: number;
  private totals: Totals;
  private readonly counters: Record<CounterName, number>;
  private pendingInserts: PendingInsert[] = [];
  private pendingAcks: number[] = [];
  /** Acknowledged, deleted at the next commit: not handed out again, not expired or evicted. */
  private readonly acked = new Set<number>();
  private ackTimer: NodeJS.Timeout | undefined;
  private pendingRejects: number[] = [];
  private flushScheduled = false;
  private closed = false;
  private readonly inFlight = new Set<number>();
  private readonly committedListeners = new Set<(endpoints: ReadonlySet<string>) => void>();
  private readonly dropListeners = new Set<(drops: readonly DropSummary[]) => void>();
  private refused = 0;
  private readonly droppedByRoute: OutboxMetrics['droppedByRoute'] = {};
  private status: OutboxStatus = { state: 'ok' };
  private readonly maxBatch: number;
  private readonly sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly config: OutboxConfig,
  ) {
    this.store = new OutboxStore(db);
    this.seq = this.store.maxSeq();
    this.totals = Totals.from(this.store.totals());
    const stored = this.store.counters();
    this.counters = Object.fromEntries(COUNTERS.map((c) => [c, stored[c] ?? 0])) as Record<
      CounterName,
      number
    >;
    this.maxBatch = config.maxBatch ?? 5000;
    if (config.recoveredFromCorruption)
      this.status = { state: 'ok', recoveredFromCorruption: config.recoveredFromCorruption };
    const every = config.sweepIntervalMs ?? 10_000;
    this.sweepTimer = every > 0 ? setInterval(() => this.sweepExpired(), every).unref() : undefined;
  }

  /**
   * Stores messages; resolves once they are committed (durable), rejects with OutboxRefusal for a
   * message that can never be sent (nothing of the call is stored then) or OutboxError when the
   * commit failed (nothing stored either: the producer should retry).
   */
  enqueue(messages: OutboxMessage | readonly OutboxMessage[]): Promise<void> {
    const list = Array.isArray(messages) ? messages : [messages as OutboxMessage];
    if (this.closed) return Promise.reject(new OutboxError('OUTBOX_CLOSED', 'the outbox is closed'));
    const sizes: number[] = [];
    for (const m of list) {
      try {
        sizes.push(checkMessage(m));
      } catch (e) {
        this.refused += 1;
        if (e instanceof OutboxRefusal)
          this.config.events.messageRefused(m.source, m.messageId, e.code, e.message);
        return Promise.reject(e);
      }
    }
    const promises = list.map(
      (message, i) =>
        new Promise<void>((resolve, reject) => {
          const size = (sizes[i] as number) + ROW_OVERHEAD_BYTES;
          this.pendingInserts.push({ message, size, resolve, reject });
        }),
    );
    this.scheduleFlush();
    return list.length === 1 ? (promises[0] as Promise<void>) : Promise.all(promises).then(() => undefined);
  }

  /** Priorities holding messages for `endpoint`, 0 first (for senders). */
  priorities(endpoint: string): number[] {
    return this.totals.priorities(endpoint);
  }

  /** The next unexpired messages of one endpoint and priority after `afterSeq`. */
  fetch(endpoint: string, priority: number, afterSeq: number, limit: number): StoredMessage[] {
    let rows: StoredMessage[];
    try {
      rows = this.store.fetch(endpoint, priority, afterSeq, this.config.now(), limit);
    } catch (e) {
      // A damaged page or a closed database: the status says so; the sender retries later.
      this.failed(e);
      throw e;
    }
    return this.acked.size === 0 ? rows : rows.filter((r) => !this.acked.has(r.seq));
  }

  /** A sender took the message: eviction and expiry leave it alone until ack/release/reject. */
  markInFlight(seq: number): void {
    this.inFlight.add(seq);
  }

  /**
   * The endpoint acknowledged the message: delete it. Deletes are committed with the next
   * insert, or after ACK_FLUSH_MS: losing them in a crash only means sending again (at least once),
   * and one fsync for many acknowledgements keeps the drain rate up.
   */
  ack(seq: number): void {
    this.inFlight.delete(seq);
    this.acked.add(seq);
    this.pendingAcks.push(seq);
    if (this.pendingAcks.length >= ACK_FLUSH_COUNT) this.scheduleFlush();
    else this.ackTimer ??= setTimeout(() => this.scheduleFlush(), ACK_FLUSH_MS).unref();
  }

  /** Sending failed for now: the message stays and will be fetched again. */
  release(seq: number): void {
    this.inFlight.delete(seq);
  }

  /** The endpoint refused the message for good: delete it, counted as rejected. */
  reject(seq: number): void {
    this.inFlight.delete(seq);
    this.pendingRejects.push(seq);
    this.scheduleFlush();
  }

  /** Deletes expired messages (not those in flight); returns how many. Also runs on a timer. */
  sweepExpired(): number {
    let removed = 0;
    while (!this.closed) {
      let result: ReturnType<typeof expireBatch>;
      try {
        result = expireBatch(this.store, this.totals, this.config.now(), this.keep, 2000);
      } catch (e) {
        this.failed(e);
        break;
      }
      if (!result) break;
      this.adopt(result);
      removed += result.drops.length;
      if (!result.full) break;
    }
    return removed;
  }

  onCommitted(listener: (endpoints: ReadonlySet<string>) => void): () => void {
    this.committedListeners.add(listener);
    return () => this.committedListeners.delete(listener);
  }

  onDropped(listener: (drops: readonly DropSummary[]) => void): () => void {
    this.dropListeners.add(listener);
    return () => this.dropListeners.delete(listener);
  }

  getStatus(): OutboxStatus {
    return { ...this.status };
  }

  metrics(): OutboxMetrics {
    const oldest = this.closed ? undefined : this.store.oldestEnqueuedAt();
    return {
      status: this.getStatus(),
      capBytes: this.config.capBytes,
      maxFileBytes: this.config.maxFileBytes,
      queued: {
        count: this.totals.count,
        bytes: this.totals.bytes,
        oldestAgeMs: oldest === undefined ? undefined : Math.max(0, this.config.now() - oldest),
        byEndpoint: this.totals.snapshot(),
      },
      totals: { ...this.counters },
      refused: this.refused,
      droppedByRoute: structuredClone(this.droppedByRoute),
    };
  }

  /** Commits what is pending, then closes the database. Later calls are refused with OUTBOX_CLOSED. */
  close(): void {
    if (this.closed) return;
    clearInterval(this.sweepTimer);
    clearTimeout(this.ackTimer);
    this.flush();
    this.closed = true;
    for (const p of this.pendingInserts.splice(0))
      p.reject(new OutboxError('OUTBOX_CLOSED', 'the outbox closed before the message was stored'));
    closeDb(this.db);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
      if (this.pendingInserts.length > 0) this.scheduleFlush();
    });
  }

  private flush(): void {
    if (this.closed) return;
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    const inserts = this.pendingInserts.splice(0, this.maxBatch);
    const acks = this.pendingAcks.splice(0);
    const rejects = this.pendingRejects.splice(0);
    if (inserts.length === 0 && acks.length === 0 && rejects.length === 0) return;
    const input = {
      inserts,
      acks,
      rejects,
      forceFreeBytes: 0,
      capBytes: this.config.capBytes,
      now: this.config.now(),
      seq: this.seq,
      keep: this.keep,
      keptCount: this.inFlight.size + this.acked.size,
    };
    let result: TransactionResult;
    try {
      result = commitBatch(this.store, this.totals, input);
    } catch (first) {
      const full = isDiskFull(first) && inserts.length > 0;
      this.config.events.writeFailed(first, inserts.length, full);
      try {
        if (!full) throw first;
        // The disk (or the file ceiling) is full before the cap: make room among the oldest of the
        // lowest priority, as the cap would, and try once more.
        const forceFreeBytes = 2 * inserts.reduce((n, p) => n + p.size, 0);
        result = commitBatch(this.store, this.totals, { ...input, forceFreeBytes });
      } catch (second) {
        this.failed(second);
        const error = new OutboxError(
          'OUTBOX_WRITE_FAILED',
          `cannot store the message: the outbox commit failed (${messageOf(second)})`,
          { hint: 'free disk space in the agent home, or check the file system for errors', cause: second },
        );
        for (const p of inserts) p.reject(error);
        this.pendingAcks.push(...acks);
        this.pendingRejects.push(...rejects);
        return;
      }
    }
    if (this.status.state === 'failing') {
      this.status = { ...this.status, state: 'ok' };
      this.config.events.writeRecovered();
    }
    this.seq = result.seq;
    for (const s of acks) this.acked.delete(s);
    this.adopt(result);
    for (const p of inserts) p.resolve();
    if (result.endpoints.size > 0) for (const l of this.committedListeners) l(result.endpoints);
  }

  /** Messages in flight or acknowledged are neither expired nor evicted. */
  private readonly keep = (seq: number) => this.inFlight.has(seq) || this.acked.has(seq);

  /** Takes the totals and counts of a committed transaction and reports what it dropped. */
  private adopt(result: TransactionResult): void {
    this.totals = result.totals;
    for (const [name, delta] of Object.entries(result.counters)) this.counters[name as CounterName] += delta;
    this.reportDrops(result.drops);
  }

  private reportDrops(rows: readonly DroppedRow[]): void {
    if (rows.length === 0) return;
    const groups = new Map<string, DropSummary>();
    for (const r of rows) {
      const key = `${r.reason}|${r.endpoint}|${r.route}|${r.priority}`;
      const g = groups.get(key) ?? {
        reason: r.reason,
        endpoint: r.endpoint,
        route: r.route,
        priority: r.priority,
        count: 0,
        bytes: 0,
      };
      g.count += 1;
      g.bytes += r.size;
      groups.set(key, g);
    }
    const summaries = [...groups.values()];
    for (const s of summaries) {
      const byReason = this.droppedByRoute[s.route] ?? { expired: 0, evicted: 0, rejected: 0 };
      byReason[s.reason] += s.count;
      this.droppedByRoute[s.route] = byReason;
      this.config.events.messagesDropped(s.reason, s.endpoint, s.route, s.priority, s.count, s.bytes);
    }
    for (const l of this.dropListeners) l(summaries);
  }

  private failed(e: unknown): void {
    const code = (e as { code?: unknown }).code;
    this.status = {
      ...this.status,
      state: 'failing',
      lastError: {
        code: typeof code === 'string' ? code : 'OUTBOX_WRITE_FAILED',
        message: messageOf(e),
        at: new Date(this.config.now()).toISOString(),
      },
    };
  }
}

function isDiskFull(e: unknown): boolean {
  return (e as { code?: unknown }).code === 'SQLITE_FULL';
}
