/**
 * One rollout at a time per target. Two `modelport watch` processes, or a watch and a `modelport model
 * register --deploy-spec`, on the same manifest file or IoT Hub deployment stem would otherwise run
 * cycles side by side: both package, both write the file, both pick the same "next" IoT Hub priority.
 *
 * A cycle holds a lease on its target: a row in `MODELPORT_HOME/watch-locks.db` (a database of its
 * own, so the registry's schema is untouched) taken in a `BEGIN IMMEDIATE` transaction, with the
 * holder's host, pid and an expiry that the holder renews while the cycle runs. A lease is free when
 * it is released, expired, or held by a process of this host that no longer exists (a `kill -9`
 * frees it at once). A second runner waits for the lease — a cycle ends, so the wait is bounded by
 * the cycle's length — telling its operator who holds it, and gives up with TARGET_BUSY after
 * `waitMs`. The lease is held per cycle, not per watch: two watches on one target take turns, and
 * the second finds the rollout recorded (nothing to do).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Statement } from 'better-sqlite3';
import { closeDb, type Db, type Migration, openDb } from '../../common/db.js';
import { ConflictError, ModelportError } from '../../common/errors.js';

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: (db) =>
      db.exec(`CREATE TABLE target_leases (
        target TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        acquired_at TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      )`),
  },
];

/** How long a lease lasts without renewal; the holder renews it every third of that. */
export const LEASE_TTL_MS = 60_000;
/** How long a runner waits for a busy target before TARGET_BUSY (a package step can take long). */
export const DEFAULT_LOCK_WAIT_MS = 30 * 60_000;
const POLL_MS = 250;

export interface LeaseHolder {
  host: string;
  pid: number;
  acquiredAt: string;
  /** ms since epoch. */
  expiresAt: number;
}

interface LeaseRow {
  owner: string;
  host: string;
  pid: number;
  acquired_at: string;
  expires_at: number;
}

export interface TargetLocksOptions {
  now?: () => number;
  ttlMs?: number;
  /** Whether a process of this host exists (default: `process.kill(pid, 0)`). */
  pidAlive?: (pid: number) => boolean;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else; ESRCH: it is gone.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class TargetLocks {
  /** This process's identity in the table: pid plus a token, so two openers in one process differ. */
  private readonly owner = `${process.pid}:${randomBytes(6).toString('hex')}`;
  private readonly host = hostname();
  private readonly select: Statement;
  private readonly upsert: Statement;
  private readonly extend: Statement;
  private readonly remove: Statement;

  constructor(
    private readonly db: Db,
    private readonly options: TargetLocksOptions & { ownsDb?: boolean } = {},
  ) {
    this.select = db.prepare('SELECT * FROM target_leases WHERE target = ?');
    this.upsert = db.prepare(
      `INSERT INTO target_leases (target, owner, host, pid, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(target) DO UPDATE SET owner = excluded.owner, host = excluded.host, pid = excluded.pid,
         acquired_at = excluded.acquired_at, expires_at = excluded.expires_at`,
    );
    this.extend = db.prepare('UPDATE target_leases SET expires_at = ? WHERE target = ? AND owner = ?');
    this.remove = db.prepare('DELETE FROM target_leases WHERE target = ? AND owner = ?');
  }

  /** Opens (creating) `watch-locks.db` under the modelport home. */
  static open(home: string, options: TargetLocksOptions = {}): TargetLocks {
    const root = resolve(home);
    mkdirSync(root, { recursive: true });
    const db = openDb(join(root, 'watch-locks.db'), { synchronous: 'FULL', migrations: MIGRATIONS });
    return new TargetLocks(db, { ...options, ownsDb: true });
  }

  close(): void {
    if (this.options.ownsDb) closeDb(this.db);
  }

  /** Takes the lease when it is free; otherwise says who holds it. */
  tryAcquire(target: string): { acquired: true } | { acquired: false; holder: LeaseHolder } {
    return this.db
      .transaction((): { acquired: true } | { acquired: false; holder: LeaseHolder } => {
        const now = this.now();
        const row = this.select.get(target) as LeaseRow | undefined;
        if (row && row.owner !== this.owner && !this.isStale(row, now)) {
          return {
            acquired: false,
            holder: { host: row.host, pid: row.pid, acquiredAt: row.acquired_at, expiresAt: row.expires_at },
          };
        }
        this.upsert.run(
          target,
          this.owner,
          this.host,
          process.pid,
          new Date(now).toISOString(),
          now + this.ttl(),
        );
        return { acquired: true };
      })
      .immediate();
  }

  /** Pushes the expiry of a lease this process holds; false when it was lost (expired and taken). */
  renew(target: string): boolean {
    return this.extend.run(this.now() + this.ttl(), target, this.owner).changes === 1;
  }

  release(target: string): void {
    this.remove.run(target, this.owner);
  }

  /** Renewal interval for holders. */
  renewEveryMs(): number {
    return Math.max(1, Math.floor(this.ttl() / 3));
  }

  private isStale(row: LeaseRow, now: number): boolean {
    if (row.expires_at <= now) return true;
    return row.host === this.host && !(this.options.pidAlive ?? processExists)(row.pid);
  }

  private ttl(): number {
    return this.options.ttlMs ?? LEASE_TTL_MS;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }
}

export interface HoldOptions {
  signal?: AbortSignal;
  /** Give up after waiting this long (default 30 min). */
  waitMs?: number;
  pollMs?: number;
  /** Called once when the target is found busy, before waiting. */
  onBusy?: (holder: LeaseHolder) => void;
}

/** Waits for and takes the lease on `target`; the returned function releases it. */
export async function holdTarget(
  locks: TargetLocks,
  target: string,
  options: HoldOptions = {},
): Promise<() => void> {
  const deadline = Date.now() + (options.waitMs ?? DEFAULT_LOCK_WAIT_MS);
  let told = false;
  for (;;) {
    const attempt = locks.tryAcquire(target);
    if (attempt.acquired) break;
    if (!told) {
      options.onBusy?.(attempt.holder);
      told = true;
    }
    if (Date.now() >= deadline) {
      const h = attempt.holder;
      throw new ConflictError(
        'TARGET_BUSY',
        `another rollout to ${target} is running (pid ${h.pid} on ${h.host}, since ${h.acquiredAt})`,
        {
          hint: 'wait for it to finish, or stop it; two watches on one target take turns',
          details: { pid: h.pid, host: h.host },
        },
      );
    }
    if (options.signal?.aborted) {
      throw new ModelportError('WATCH_CANCELLED', `stopped while waiting for ${target}`);
    }
    await sleep(options.pollMs ?? POLL_MS, undefined, options.signal ? { signal: options.signal } : {}).catch(
      () => undefined, // aborted: checked at the top of the next round
    );
  }
  const renewal = setInterval(() => locks.renew(target), locks.renewEveryMs());
  renewal.unref();
  return () => {
    clearInterval(renewal);
    locks.release(target);
  };
}
