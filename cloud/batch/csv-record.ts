import { toFloat16Bits } from '../../modules/scoring/float16.js';
import type { TensorValues } from '../../modules/scoring/tensor.js';
import type { BatchBuilder, RecordRef } from './batch-builder.js';
import type { InputLayout, InputSlot } from './input-layout.js';
import { describe } from './sample-writer.js';

/** JSON's number grammar, plus a leading '+' and forms like '.5' and '5.' that spreadsheets write. */
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

const INT_RANGES: Record<string, [number, number]> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
};

/** The fields of one CSV line. Values are numeric, so quoting only ever wraps a whole field. */
export function csvFields(line: string): string[] {
  return line.split(',').map((f) => {
    const t = f.trim();
    return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).trim() : t;
  });
}

/**
 * A first line is a header when none of its fields is a number ("x1,x2,…"). A line with some numbers
 * and some text is a bad record instead, so a typo in the first row is reported, not silently skipped.
 */
export function isCsvHeader(line: string): boolean {
  const fields = csvFields(line);
  return fields.length > 0 && fields.some((f) => f !== '') && fields.every((f) => !NUMBER.test(f));
}

/**
 * Decodes CSV rows: numeric columns, filling the model's inputs in order (all of the first input's
 * values row-major, then the next input's). Returns a reject reason, or undefined when committed.
 */
export class CsvRecordDecoder {
  constructor(private readonly layout: InputLayout) {}

  decode(line: string, builder: BatchBuilder, ref: RecordRef): string | undefined {
    const fields = csvFields(line);
    if (fields.length !== this.layout.recordWidth) {
      return `expected ${this.layout.recordWidth} values, got ${fields.length}`;
    }
    let column = 0;
    for (let i = 0; i < this.layout.inputs.length; i++) {
      const slot = this.layout.inputs[i] as InputSlot;
      const storage = builder.storage(i);
      const offset = builder.rowOffset(i);
      for (let k = 0; k < slot.sampleSize; k++) {
        const reason = writeField(slot, fields[column] as string, storage, offset + k, column + 1);
        if (reason !== undefined) return reason;
        column++;
      }
    }
    builder.commit(ref);
    return undefined;
  }
}

function writeField(
  slot: InputSlot,
  field: string,
  storage: TensorValues,
  index: number,
  column: number,
): string | undefined {
  const bad = (want: string) =>
    `column ${column} (${describe(field)}) is not ${want} for input '${slot.name}'`;
  switch (slot.type) {
    case 'string':
      (storage as string[])[index] = field;
      return undefined;
    case 'bool': {
      const v = field.toLowerCase();
      if (v === '1' || v === 'true') (storage as Uint8Array)[index] = 1;
      else if (v === '0' || v === 'false') (storage as Uint8Array)[index] = 0;
      else return bad('a boolean (0, 1, true, false)');
      return undefined;
    }
    case 'int64':
    case 'uint64': {
      // BigInt from the digits keeps every one of them (Number would round beyond 2^53).
      if (!INTEGER.test(field)) return bad(`an ${slot.type} integer`);
      const big = BigInt(field.replace(/^\+/, ''));
      const [min, max] = slot.type === 'int64' ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
      if (big < min || big > max) return bad(`an ${slot.type} integer`);
      (storage as BigInt64Array)[index] = big;
      return undefined;
    }
    case 'float32':
    case 'float64':
    case 'float16': {
      if (!NUMBER.test(field)) return bad('a number');
      if (slot.type === 'float16') (storage as Uint16Array)[index] = toFloat16Bits(Number(field));
      else (storage as Float32Array)[index] = Number(field);
      return undefined;
    }
    default: {
      const range = INT_RANGES[slot.type];
      const n = Number(field);
      if (!range || !INTEGER.test(field) || n < range[0] || n > range[1])
        return bad(`a ${slot.type} integer`);
      (storage as Int32Array)[index] = n;
      return undefined;
    }
  }
}
