import { isModelportError } from '../../common/errors.js';
import { tensorFromNested } from '../../modules/scoring/json-tensor.js';
import type { TensorValues } from '../../modules/scoring/tensor.js';
import { copyInto } from './batch-builder.js';
import type { InputSlot } from './input-layout.js';

/**
 * Writes one record's value for one input (a JSON value: the input's per-record nested array) into
 * row storage. Returns a reject reason, or undefined when the value was written.
 *
 * Flat float rows, by far the commonest, are checked here so the reason says exactly what is wrong
 * ("expects 10 values, got 9", "value at [3] is not a number"); everything else goes through the
 * scoring server's own JSON → tensor conversion, with its messages.
 */
export function writeSample(
  slot: InputSlot,
  value: unknown,
  storage: TensorValues,
  offset: number,
): string | undefined {
  // A flat row for a rank-2 input ([[…]], the batched form of one row, takes the general path).
  if (slot.sampleDims.length === 1 && Array.isArray(value) && !Array.isArray(value[0])) {
    if (value.length !== slot.sampleSize) {
      return `input '${slot.name}' expects ${slot.sampleSize} values, got ${value.length}`;
    }
    if (slot.type === 'float32' || slot.type === 'float64') {
      const out = storage as Float32Array | Float64Array;
      for (let i = 0; i < value.length; i++) {
        const v = value[i];
        if (typeof v !== 'number') {
          return `input '${slot.name}' value at [${i}] is not a number (${describe(v)})`;
        }
        out[offset + i] = v;
      }
      return undefined;
    }
  }
  try {
    const tensor = tensorFromNested(value, { name: slot.name, type: slot.type, shape: slot.shape });
    if (tensor.dims[0] !== 1) {
      return `input '${slot.name}' holds ${tensor.dims[0]} rows; a record is one row ${shapeText(slot.sampleDims)}`;
    }
    copyInto(storage, offset, tensor.data);
    return undefined;
  } catch (e) {
    if (isModelportError(e)) return e.message;
    throw e; // not a problem with the record: a bug, which must not pass as a reject
  }
}

function shapeText(dims: readonly number[]): string {
  return `[${dims.join(', ')}]`;
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
