/**
 * Message count and bytes per (endpoint, priority), kept in memory so the disk cap, eviction order
 * and metrics never scan the queue. A transaction works on a copy; the copy replaces the original
 * only once the transaction has committed.
 */
import type { TotalsRow } from './store.js';

interface Cell {
  count: number;
  bytes: number;
}

export class Totals {
  private constructor(
    private readonly cells: Map<string, Map<number, Cell>>,
    private allBytes: number,
    private allCount: number,
    private readonly touched = new Set<string>(),
  ) {}

  static from(rows: readonly TotalsRow[]): Totals {
    const totals = new Totals(new Map(), 0, 0);
    for (const r of rows) totals.add(r.endpoint, r.priority, r.count, r.bytes);
    totals.touched.clear();
    return totals;
  }

  /** A working copy for one transaction (the original stays as it was until `commit`). */
  copy(): Totals {
    const cells = new Map<string, Map<number, Cell>>();
    for (const [endpoint, byPriority] of this.cells) {
      cells.set(endpoint, new Map([...byPriority].map(([p, c]) => [p, { ...c }])));
    }
    return new Totals(cells, this.allBytes, this.allCount);
  }

  get bytes(): number {
    return this.allBytes;
  }

  get count(): number {
    return this.allCount;
  }

  add(endpoint: string, priority: number, count: number, bytes: number): void {
    let byPriority = this.cells.get(endpoint);
    if (!byPriority) {
      byPriority = new Map();
      this.cells.set(endpoint, byPriority);
    }
    const cell = byPriority.get(priority) ?? { count: 0, bytes: 0 };
    cell.count += count;
    cell.bytes += bytes;
    if (cell.count <= 0) byPriority.delete(priority);
    else byPriority.set(priority, cell);
    if (byPriority.size === 0) this.cells.delete(endpoint);
    this.allCount += count;
    this.allBytes += bytes;
    this.touched.add(`${priority}\u0000${endpoint}`);
  }

  /** Priorities that hold messages for `endpoint`, highest (0) first. */
  priorities(endpoint: string): number[] {
    return [...(this.cells.get(endpoint)?.keys() ?? [])].sort((a, b) => a - b);
  }

  endpointsWith(priority: number): string[] {
    return [...this.cells].filter(([, byPriority]) => byPriority.has(priority)).map(([e]) => e);
  }

  /** The rows changed since this copy was made, to write in the same transaction. */
  changedRows(): TotalsRow[] {
    return [...this.touched].map((key) => {
      const sep = key.indexOf('\u0000');
      const priority = Number(key.slice(0, sep));
      const endpoint = key.slice(sep + 1);
      const cell = this.cells.get(endpoint)?.get(priority) ?? { count: 0, bytes: 0 };
      return { endpoint, priority, count: cell.count, bytes: cell.bytes };
    });
  }

  snapshot(): Record<string, { count: number; bytes: number; byPriority: Record<string, number> }> {
    const out: Record<string, { count: number; bytes: number; byPriority: Record<string, number> }> = {};
    for (const [endpoint, byPriority] of this.cells) {
      const entry = { count: 0, bytes: 0, byPriority: {} as Record<string, number> };
      for (const [p, cell] of byPriority) {
        entry.count += cell.count;
        entry.bytes += cell.bytes;
        entry.byPriority[String(p)] = cell.count;
      }
      out[endpoint] = entry;
    }
    return out;
  }
}
