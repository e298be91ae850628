import { badInput } from './errors.js';
import { fromFloat16Bits, toFloat16Bits } from './float16.js';
import {
  allocate,
  checkShape,
  type ElementType,
  elementCount,
  isElementType,
  MAX_TENSOR_ELEMENTS,
  type TensorData,
  type TensorMeta,
  type TensorValues,
} from './tensor.js';

/**
 * JSON nested arrays → a typed tensor for one model input. The shape is read from the first element
 * at each depth and checked against the model before anything is allocated; every row must then have
 * that length (ragged arrays are refused), and every value must fit the element type.
 */
export function tensorFromNested(value: unknown, meta: TensorMeta): TensorData {
  if (!isElementType(meta.type)) {
    throw badInput(
      'TYPE_UNSUPPORTED',
      `input '${meta.name}' has type ${meta.type}, which JSON input cannot carry`,
    );
  }
  const type = meta.type;
  if (meta.shape?.length === 0 && !Array.isArray(value)) {
    // A scalar input takes a bare value.
    const data = allocate(type, 1);
    writerFor(type, data, meta.name)(0, value, `input '${meta.name}'`);
    return { type, dims: [], data };
  }
  let dims = inferDims(value, meta.name);
  if (dims.includes(0)) throw badInput('EMPTY_INPUT', `input '${meta.name}' is empty`);
  const rank = meta.shape?.length;
  // A single sample without its batch dimension ([x1..x10] for a [N,10] input) is a batch of one.
  const unbatched = rank !== undefined && dims.length === rank - 1 && dims.length > 0;
  if (unbatched) dims = [1, ...dims];
  checkShape(meta, dims);
  const count = elementCount(dims);
  if (count > MAX_TENSOR_ELEMENTS) {
    throw badInput(
      'INPUT_TOO_LARGE',
      `input '${meta.name}' has ${count} elements; the limit is ${MAX_TENSOR_ELEMENTS}`,
    );
  }
  const rows = unbatched ? [value] : value;
  // Rows are checked before storage is allocated: dims come from the first row at each depth, and a
  // short body must not make the server allocate for rows it does not have.
  checkRectangular(rows, dims, 0, meta.name);
  const data = allocate(type, count);
  const write = writerFor(type, data, meta.name);
  const filled = fill(rows, dims, 0, write, 0, meta.name);
  if (filled !== count) throw badInput('SHAPE_MISMATCH', `input '${meta.name}' is ragged`);
  return { type, dims, data };
}

function checkRectangular(value: unknown, dims: readonly number[], depth: number, path: string): void {
  const expected = dims[depth] ?? 0;
  if (!Array.isArray(value) || value.length !== expected) {
    throw badInput(
      'SHAPE_MISMATCH',
      `${path} should be an array of ${expected} but is ${Array.isArray(value) ? `an array of ${value.length}` : typeof value} (rows must all have the same length)`,
    );
  }
  if (depth >= dims.length - 1) return;
  for (let i = 0; i < expected; i++) checkRectangular(value[i], dims, depth + 1, `${path}[${i}]`);
}

function inferDims(value: unknown, name: string): number[] {
  const dims: number[] = [];
  let v = value;
  while (Array.isArray(v)) {
    dims.push(v.length);
    if (dims.length > 16) throw badInput('SHAPE_MISMATCH', `input '${name}' nests arrays more than 16 deep`);
    if (v.length === 0) break;
    v = v[0];
  }
  if (dims.length === 0) {
    throw badInput('INPUT_NOT_ARRAY', `input '${name}' must be an array (nested one level per dimension)`);
  }
  return dims;
}

type Writer = (index: number, value: unknown, path: string) => void;

function fill(
  value: unknown,
  dims: readonly number[],
  depth: number,
  write: Writer,
  offset: number,
  path: string,
): number {
  const expected = dims[depth] ?? 0;
  if (!Array.isArray(value) || value.length !== expected) {
    throw badInput(
      'SHAPE_MISMATCH',
      `${path} should be an array of ${expected} but is ${Array.isArray(value) ? `an array of ${value.length}` : typeof value} (rows must all have the same length)`,
    );
  }
  if (depth === dims.length - 1) {
    for (let i = 0; i < expected; i++) write(offset + i, value[i], path);
    return offset + expected;
  }
  let next = offset;
  for (let i = 0; i < expected; i++) next = fill(value[i], dims, depth + 1, write, next, `${path}[${i}]`);
  return next;
}

const INT_RANGES: Record<string, [number, number]> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
};

function writerFor(type: ElementType, data: TensorValues, name: string): Writer {
  const fail = (path: string, value: unknown, want: string): never => {
    throw badInput(
      'TYPE_MISMATCH',
      `${path} holds ${JSON.stringify(value)?.slice(0, 40) ?? typeof value} but input '${name}' takes ${want}`,
      { input: name },
    );
  };
  switch (type) {
    case 'float32':
    case 'float64': {
      const out = data as Float32Array | Float64Array;
      return (i, v, path) => {
        if (typeof v !== 'number') fail(path, v, `${type} numbers`);
        out[i] = v as number;
      };
    }
    case 'float16': {
      const out = data as Uint16Array;
      return (i, v, path) => {
        if (typeof v !== 'number') fail(path, v, 'float16 numbers');
        out[i] = toFloat16Bits(v as number);
      };
    }
    case 'int64':
    case 'uint64': {
      const out = data as BigInt64Array | BigUint64Array;
      const min = type === 'int64' ? -(2n ** 63n) : 0n;
      const max = type === 'int64' ? 2n ** 63n - 1n : 2n ** 64n - 1n;
      return (i, v, path) => {
        let big: bigint | undefined;
        if (typeof v === 'number' && Number.isSafeInteger(v)) big = BigInt(v);
        else if (typeof v === 'string' && /^-?[0-9]{1,20}$/.test(v)) big = BigInt(v);
        if (big === undefined || big < min || big > max) return fail(path, v, `${type} integers`);
        out[i] = big;
      };
    }
    case 'bool': {
      const out = data as Uint8Array;
      return (i, v, path) => {
        if (typeof v === 'boolean') out[i] = v ? 1 : 0;
        else if (v === 0 || v === 1) out[i] = v;
        else fail(path, v, 'booleans');
      };
    }
    case 'string': {
      const out = data as string[];
      return (i, v, path) => {
        if (typeof v !== 'string') fail(path, v, 'strings');
        out[i] = v as string;
      };
    }
    default: {
      const out = data as Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;
      const [lo, hi] = INT_RANGES[type] ?? [0, 0];
      return (i, v, path) => {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
          fail(path, v, `${type} integers`);
        out[i] = v as number;
      };
    }
  }
}

/**
 * A tensor as JSON text of nested arrays, written directly (no intermediate arrays): int64 values keep
 * every digit, non-finite floats become null (JSON has no NaN).
 */
export function nestedJson(tensor: TensorData): string {
  const { dims, data, type } = tensor;
  const format = formatterFor(type);
  if (dims.length === 0) return format(data, 0);
  const parts: string[] = [];
  const strides = dims.map((_, axis) => elementCount(dims.slice(axis + 1)));
  const walk = (axis: number, offset: number): void => {
    parts.push('[');
    const size = dims[axis] ?? 0;
    const stride = strides[axis] ?? 1;
    for (let i = 0; i < size; i++) {
      if (i > 0) parts.push(',');
      if (axis === dims.length - 1) parts.push(format(data, offset + i));
      else walk(axis + 1, offset + i * stride);
    }
    parts.push(']');
  };
  walk(0, 0);
  return parts.join('');
}

type Formatter = (data: TensorValues, index: number) => string;

function formatterFor(type: ElementType): Formatter {
  switch (type) {
    case 'string':
      return (d, i) => JSON.stringify((d as string[])[i] ?? '');
    case 'bool':
      return (d, i) => ((d as Uint8Array)[i] ? 'true' : 'false');
    case 'int64':
    case 'uint64':
      return (d, i) => String((d as BigInt64Array)[i]);
    case 'float16':
      return (d, i) => finite(fromFloat16Bits((d as Uint16Array)[i] ?? 0));
    default:
      return (d, i) => finite((d as Float32Array)[i] ?? 0);
  }
}

function finite(n: number): string {
  if (n === 0) return 1 / n < 0 ? '-0' : '0'; // String(-0) is "0"
  return Number.isFinite(n) ? String(n) : 'null';
}

/**
 * OIP v2 JSON tensor data: row-major values, flat or nested, for an explicit shape. The element
 * count is checked against the shape before the storage is allocated.
 */
export function tensorFromFlat(
  values: unknown,
  dims: readonly number[],
  type: ElementType,
  name: string,
): TensorData {
  if (!Array.isArray(values)) throw badInput('DATA_INVALID', `input '${name}' data must be an array`);
  const count = elementCount(dims);
  if (count > MAX_TENSOR_ELEMENTS) {
    throw badInput(
      'INPUT_TOO_LARGE',
      `input '${name}' has ${count} elements; the limit is ${MAX_TENSOR_ELEMENTS}`,
    );
  }
  // Values are counted before storage is allocated, so a large shape with little data costs nothing.
  const present = countLeaves(values, 0, name);
  if (present !== count) {
    throw badInput(
      'SHAPE_MISMATCH',
      `input '${name}' has ${present} values but its shape [${dims}] holds ${count}`,
    );
  }
  const data = allocate(type, count);
  const write = writerFor(type, data, name);
  let index = 0;
  const walk = (v: unknown[], path: string, depth: number): void => {
    if (depth > 16) throw badInput('DATA_INVALID', `input '${name}' data nests arrays more than 16 deep`);
    for (let i = 0; i < v.length; i++) {
      const item = v[i];
      if (Array.isArray(item)) walk(item, `${path}[${i}]`, depth + 1);
      else {
        if (index >= count) {
          throw badInput(
            'SHAPE_MISMATCH',
            `input '${name}' has more than the ${count} values its shape [${dims}] holds`,
          );
        }
        write(index++, item, `${path}[${i}]`);
      }
    }
  };
  walk(values, `input '${name}'`, 0);
  if (index !== count) {
    throw badInput(
      'SHAPE_MISMATCH',
      `input '${name}' has ${index} values but its shape [${dims}] holds ${count}`,
    );
  }
  return { type, dims: [...dims], data };
}

function countLeaves(v: unknown[], depth: number, name: string): number {
  if (depth > 16) throw badInput('DATA_INVALID', `input '${name}' data nests arrays more than 16 deep`);
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const item = v[i];
    n += Array.isArray(item) ? countLeaves(item, depth + 1, name) : 1;
  }
  return n;
}

/** A tensor's values as a flat JSON array (OIP v2 output `data`). */
export function flatJson(tensor: TensorData): string {
  const format = formatterFor(tensor.type);
  const n = tensor.data.length;
  const parts = new Array<string>(n);
  for (let i = 0; i < n; i++) parts[i] = format(tensor.data, i);
  return `[${parts.join(',')}]`;
}
