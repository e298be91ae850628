import type { BatchBuilder, RecordRef } from './batch-builder.js';
import type { InputLayout, InputSlot } from './input-layout.js';
import { parseNumberArray } from './number-array.js';
import { describe, writeSample } from './sample-writer.js';

/**
 * Decodes JSON-lines records into a batch. A record is one of:
 * - an array: the row of a single-input model (`[1, 2, …]`);
 * - an object of input name → row (`{"a": […], "b": […]}`), optionally with an `"id"`;
 * - either of those under `"data"`, with an optional `"id"` beside it (`{"id": 7, "data": […]}`).
 * The id (a string or a number) is echoed into the record's output line.
 */
export class JsonlRecordDecoder {
  private readonly names: Set<string>;
  /** The fast path applies to single-input models fed flat float rows. */
  private readonly fast: InputSlot | undefined;

  constructor(private readonly layout: InputLayout) {
    this.names = new Set(layout.inputs.map((i) => i.name));
    const [only] = layout.inputs;
    this.fast =
      layout.inputs.length === 1 &&
      only !== undefined &&
      only.sampleDims.length === 1 &&
      (only.type === 'float32' || only.type === 'float64')
        ? only
        : undefined;
  }

  /** Decodes `bytes[start, end)` into the builder's next row; returns a reject reason, or undefined when committed. */
  decode(
    bytes: Buffer,
    start: number,
    end: number,
    builder: BatchBuilder,
    ref: RecordRef,
  ): string | undefined {
    if (this.fast) {
      const storage = builder.storage(0) as Float32Array | Float64Array;
      const n = parseNumberArray(bytes, start, end, storage, builder.rowOffset(0), this.fast.sampleSize);
      if (n === this.fast.sampleSize) {
        builder.commit(ref);
        return undefined;
      }
    }
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8', start, end));
    } catch (e) {
      const message = (e as Error).message;
      return `not valid JSON (${message.length > 100 ? `${message.slice(0, 97)}...` : message})`;
    }
    const record = this.unwrap(value);
    if (typeof record === 'string') return record;
    for (let i = 0; i < this.layout.inputs.length; i++) {
      const slot = this.layout.inputs[i] as InputSlot;
      const reason = writeSample(slot, record.values[slot.name], builder.storage(i), builder.rowOffset(i));
      if (reason !== undefined) return reason;
    }
    builder.commit(record.id === undefined ? ref : { ...ref, id: record.id });
    return undefined;
  }

  /** The per-input values and id of a parsed record, or the reason it is not a record. */
  private unwrap(value: unknown): { values: Record<string, unknown>; id?: string } | string {
    if (Array.isArray(value)) return this.fromPayload(value, undefined);
    if (value === null || typeof value !== 'object') {
      return `a record must be an array or an object, not ${describe(value)}`;
    }
    const object = value as Record<string, unknown>;
    const idIsField = 'id' in object && !this.names.has('id');
    const id = idIsField ? object.id : undefined;
    if (idIsField && typeof id !== 'string' && typeof id !== 'number') {
      return `"id" must be a string or a number, not ${describe(id)}`;
    }
    const idText = idIsField ? JSON.stringify(id) : undefined;
    if ('data' in object && !this.names.has('data')) {
      const extra = Object.keys(object).filter((k) => k !== 'data' && k !== 'id');
      if (extra.length > 0) {
        return `a record with "data" may carry only "id" beside it, not ${extra.map((k) => `"${k}"`).join(', ')}`;
      }
      return this.fromPayload(object.data, idText);
    }
    const keyed: Record<string, unknown> = { ...object };
    if (idIsField) delete keyed.id;
    return this.fromPayload(keyed, idText);
  }

  private fromPayload(
    payload: unknown,
    id: string | undefined,
  ): { values: Record<string, unknown>; id?: string } | string {
    const withId = (values: Record<string, unknown>) => (id === undefined ? { values } : { values, id });
    const [only] = this.layout.inputs;
    if (Array.isArray(payload)) {
      if (this.layout.inputs.length !== 1 || only === undefined) {
        return `an array record feeds a single-input model; this model takes ${this.inputList()}: send {${this.layout.inputs.map((i) => `"${i.name}": […]`).join(', ')}}`;
      }
      return withId({ [only.name]: payload });
    }
    if (payload === null || typeof payload !== 'object') {
      return `"data" must be an array or an object of inputs, not ${describe(payload)}`;
    }
    const keyed = payload as Record<string, unknown>;
    const unknown = Object.keys(keyed).filter((k) => !this.names.has(k));
    if (unknown.length > 0) {
      return `the model has no input named ${unknown.map((k) => `'${k}'`).join(', ')}; it takes ${this.inputList()}`;
    }
    const missing = this.layout.inputs.find((i) => !(i.name in keyed));
    if (missing) return `input '${missing.name}' is missing; the model takes ${this.inputList()}`;
    return withId(keyed);
  }

  private inputList(): string {
    return this.layout.inputs.map((i) => `'${i.name}'`).join(', ');
  }
}
