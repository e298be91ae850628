/**
 * The outbox's write transactions, each all-or-nothing: a commit (acknowledged deletes, rejects,
 * inserts, eviction down to the cap) and an expiry sweep. They work on a copy of the totals that the
 * caller adopts only when the transaction committed. `keep(seq)` protects messages in flight.
 */
import type { DropReason } from './events.js';
import { MAX_PRIORITY, type OutboxMessage } from './message.js';
import { type CounterName, NEVER_EXPIRES, type OutboxStore, type RemovedRow } from './store.js';
import type { Totals } from './totals.js';

export type DroppedRow = RemovedRow & { reason: DropReason };

export interface CommitInput {
  inserts: ReadonlyArray<{ message: OutboxMessage; size: number }>;
  acks: readonly number[];
  rejects: readonly number[];
  /** Bytes to free before inserting even under the cap (the disk filled up first). */
  forceFreeBytes: number;
  capBytes: number;
  now: number;
  /** The last sequence number used. */
  seq: number;
  keep: (seq: number) => boolean;
  /** How many messages `keep` protects at most (so eviction reads past them). */
  keptCount: number;
}

export interface TransactionResult {
  totals: Totals;
  seq: number;
  drops: DroppedRow[];
  counters: Partial<Record<CounterName, number>>;
  endpoints: Set<string>;
}

export function commitBatch(store: OutboxStore, totals: Totals, input: CommitInput): TransactionResult {
  const work = totals.copy();
  const drops: DroppedRow[] = [];
  const endpoints = new Set<string>();
  let sent = 0;
  let seq = input.seq;
  store.transaction(() => {
    for (const s of input.acks) {
      const row = store.delete(s);
      if (row) {
        work.add(row.endpoint, row.priority, -1, -row.size);
        sent += 1;
      }
    }
    for (const s of input.rejects) {
      const row = store.delete(s);
      if (row) {
        work.add(row.endpoint, row.priority, -1, -row.size);
        drops.push({ ...row, reason: 'rejected' });
      }
    }
    if (input.forceFreeBytes > 0) evict(store, work, input.forceFreeBytes, input, drops);
    for (const { message: m, size } of input.inserts) {
      seq += 1;
      store.insert({
        seq,
        endpoint: m.endpoint,
        messageId: m.messageId,
        priority: m.priority,
        enqueuedAt: input.now,
        expiresAt: m.timeToLiveSecs > 0 ? input.now + m.timeToLiveSecs * 1000 : NEVER_EXPIRES,
        source: m.source,
        route: m.route,
        properties: JSON.stringify({ app: m.appProperties, sys: m.systemProperties, ttl: m.timeToLiveSecs }),
        body: m.body,
        size,
      });
      work.add(m.endpoint, m.priority, 1, size);
      endpoints.add(m.endpoint);
    }
    if (work.bytes > input.capBytes) evict(store, work, work.bytes - input.capBytes, input, drops);
    for (const t of work.changedRows()) store.writeTotals(t);
    const evicted = drops.filter((d) => d.reason === 'evicted').length;
    store.addCounter('enqueued', input.inserts.length);
    store.addCounter('sent', sent);
    store.addCounter('evicted', evicted);
    store.addCounter('rejected', drops.length - evicted);
  });
  const evicted = drops.filter((d) => d.reason === 'evicted').length;
  return {
    totals: work,
    seq,
    drops,
    endpoints,
    counters: { enqueued: input.inserts.length, sent, evicted, rejected: drops.length - evicted },
  };
}

/** Deletes up to `limit` expired messages (not kept ones); undefined when there are none. */
export function expireBatch(
  store: OutboxStore,
  totals: Totals,
  now: number,
  keep: (seq: number) => boolean,
  limit: number,
): (TransactionResult & { full: boolean }) | undefined {
  const candidates = store.expired(now, limit);
  const batch = candidates.filter((r) => !keep(r.seq));
  if (batch.length === 0) return undefined;
  const work = totals.copy();
  const drops: DroppedRow[] = [];
  store.transaction(() => {
    for (const r of batch) {
      const row = store.delete(r.seq);
      if (!row) continue;
      work.add(row.endpoint, row.priority, -1, -row.size);
      drops.push({ ...row, reason: 'expired' });
    }
    for (const t of work.changedRows()) store.writeTotals(t);
    store.addCounter('expired', drops.length);
  });
  return {
    totals: work,
    seq: 0,
    drops,
    endpoints: new Set(),
    counters: { expired: drops.length },
    full: candidates.length === limit,
  };
}

/** Deletes the oldest messages of the lowest priority (not kept ones) until `needBytes` are freed. */
function evict(
  store: OutboxStore,
  work: Totals,
  needBytes: number,
  { keep, keptCount }: Pick<CommitInput, 'keep' | 'keptCount'>,
  drops: DroppedRow[],
): void {
  let freed = 0;
  const exhausted = new Set<number>();
  while (freed < needBytes) {
    const lowest = lowestPriorityHolding(work, exhausted);
    if (lowest === undefined) return;
    const avg = Math.max(1, work.bytes / Math.max(1, work.count));
    const want = Math.min(10_000, Math.ceil((needBytes - freed) / avg) + 1);
    const candidates = work
      .endpointsWith(lowest)
      .flatMap((e) => store.oldest(e, lowest, want + keptCount))
      .filter((r) => !keep(r.seq))
      .sort((a, b) => a.seq - b.seq);
    if (candidates.length === 0) {
      exhausted.add(lowest);
      continue;
    }
    for (const c of candidates) {
      if (freed >= needBytes) break;
      const row = store.delete(c.seq);
      if (!row) continue;
      work.add(row.endpoint, row.priority, -1, -row.size);
      drops.push({ ...row, reason: 'evicted' });
      freed += row.size;
    }
  }
}

function lowestPriorityHolding(work: Totals, exhausted: ReadonlySet<number>): number | undefined {
  for (let p = MAX_PRIORITY; p >= 0; p -= 1) {
    if (!exhausted.has(p) && work.endpointsWith(p).length > 0) return p;
  }
  return undefined;
}
