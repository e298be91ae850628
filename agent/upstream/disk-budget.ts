/** How much disk the outbox may use: configured, or min(1 GiB, 10% of the free space where it lives). */
import { statfs } from 'node:fs/promises';

export const DEFAULT_CAP_CEILING_BYTES = 1024 ** 3;
export const DEFAULT_CAP_FREE_SHARE = 0.1;
/** Never below this, so a nearly full disk still keeps a few minutes of telemetry. */
export const MIN_CAP_BYTES = 1024 * 1024;

export async function defaultCapBytes(dir: string): Promise<number> {
  const fs = await statfs(dir);
  const free = Number(fs.bavail) * Number(fs.bsize);
  return Math.max(
    MIN_CAP_BYTES,
    Math.min(DEFAULT_CAP_CEILING_BYTES, Math.floor(free * DEFAULT_CAP_FREE_SHARE)),
  );
}

/**
 * A hard ceiling on the database file (SQLite `max_page_count`), above the cap by a margin for
 * page slack and indexes: if the accounting were ever wrong, writes fail (and the outbox evicts)
 * instead of filling the disk.
 */
export function defaultMaxFileBytes(capBytes: number): number {
  return capBytes * 2 + 64 * 1024 * 1024;
}
