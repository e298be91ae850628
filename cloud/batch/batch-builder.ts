import { allocate, type TensorData, type TensorValues } from '../../modules/scoring/tensor.js';
import type { InputLayout, InputSlot } from './input-layout.js';

/** Where a record came from and what its output line carries besides the output. */
export interface RecordRef {
  /** The input file's name, for folder inputs only (line numbers then count per file). */
  file?: string;
  /** 1-based line (text formats) or row (npy) number. */
  line: number;
  /** The record's `"id"`, as JSON text, echoed into its output line. */
  id?: string;
}

export interface BuiltBatch {
  inputs: Record<string, TensorData>;
  records: RecordRef[];
}

/**
 * Stacks decoded records into one tensor per input, row by row. A decoder writes the values of the
 * next row into `storage(i)` at `rowOffset(i)`, then `commit`s it; a row that fails half-way is simply
 * overwritten by the next record. `take()` hands the filled storage over (it is transferred to the
 * session worker) and starts fresh storage.
 */
export class BatchBuilder {
  private storages: TensorValues[];
  private refs: RecordRef[] = [];

  constructor(
    private readonly layout: InputLayout,
    private readonly pool: StoragePool = new StoragePool(),
  ) {
    this.storages = this.allocateAll();
  }

  get rows(): number {
    return this.refs.length;
  }

  get full(): boolean {
    return this.refs.length >= this.layout.batchSize;
  }

  storage(input: number): TensorValues {
    return this.storages[input] as TensorValues;
  }

  /** Index of the first value of the row being filled, in input `input`'s storage. */
  rowOffset(input: number): number {
    return this.refs.length * (this.layout.inputs[input] as InputSlot).sampleSize;
  }

  commit(ref: RecordRef): void {
    this.refs.push(ref);
  }

  take(): BuiltBatch {
    const rows = this.refs.length;
    // A fixed-batch model always gets its declared batch size: the zero rows past `rows` are padding.
    const runRows = this.layout.fixedBatch ?? rows;
    const inputs: Record<string, TensorData> = {};
    this.layout.inputs.forEach((slot, i) => {
      const full = this.storages[i] as TensorValues;
      const used = runRows * slot.sampleSize;
      const data = used === full.length ? full : full.slice(0, used);
      inputs[slot.name] = { type: slot.type, dims: [runRows, ...slot.sampleDims], data };
    });
    const batch = { inputs, records: this.refs };
    this.refs = [];
    this.storages = this.allocateAll();
    return batch;
  }

  private allocateAll(): TensorValues[] {
    return this.layout.inputs.map((slot) => this.pool.take(slot, this.layout.batchSize * slot.sampleSize));
  }
}

/**
 * Batch storage handed back by the session worker once a run is done, for the next batches: a fresh
 * 200 KB typed array per batch costs page faults and GC that show in bench/batch. A reused array holds
 * old values, which is fine: every row of a batch is written before it is scored, and the rows past a
 * partial batch are cut off (or, for a fixed batch size, are padding whose outputs are dropped).
 */
export class StoragePool {
  private readonly free = new Map<string, TensorValues[]>();

  take(slot: InputSlot, size: number): TensorValues {
    const reused = this.free.get(slot.name)?.pop();
    if (reused && reused.length === size) return reused;
    const data = allocate(slot.type, size);
    if (Array.isArray(data)) data.fill('');
    return data;
  }

  give(name: string, data: TensorValues): void {
    if (Array.isArray(data)) return; // strings are cloned, not moved: nothing to reuse
    let list = this.free.get(name);
    if (!list) {
      list = [];
      this.free.set(name, list);
    }
    if (list.length < 8) list.push(data);
  }
}

/** Copies one record's values (a batch-of-one tensor) into row storage. */
export function copyInto(target: TensorValues, offset: number, source: TensorValues): void {
  if (Array.isArray(target)) {
    const src = source as string[];
    for (let i = 0; i < src.length; i++) target[offset + i] = src[i] as string;
    return;
  }
  (target as Float32Array).set(source as Float32Array, offset);
}
