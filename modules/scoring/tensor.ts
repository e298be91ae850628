import { badInput } from './errors.js';

/** ONNX Runtime's tensor element type names, as its JS API spells them. */
export type ElementType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool'
  | 'string';

export type TensorValues =
  | Float32Array
  | Float64Array
  | Uint16Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint32Array
  | BigUint64Array
  | string[];

/** A tensor as it travels between the HTTP layer and a session worker. */
export interface TensorData {
  type: ElementType;
  dims: number[];
  data: TensorValues;
}

/** What a client must send for one model input, from the model's own metadata. */
export interface TensorMeta {
  name: string;
  type: ElementType | string;
  /** Fixed sizes as numbers, symbolic dims as their name, unknown as null. */
  shape: (number | string | null)[] | null;
}

/** Largest number of elements accepted in one input; bounds memory before anything is allocated. */
export const MAX_TENSOR_ELEMENTS = 64 * 1024 * 1024;

export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Allocates the typed storage for `count` elements of `type`. Callers bound `count` first. */
export function allocate(type: ElementType, count: number): TensorValues {
  switch (type) {
    case 'float32':
      return new Float32Array(count);
    case 'float64':
      return new Float64Array(count);
    case 'float16':
      return new Uint16Array(count);
    case 'int8':
      return new Int8Array(count);
    case 'int16':
      return new Int16Array(count);
    case 'int32':
      return new Int32Array(count);
    case 'int64':
      return new BigInt64Array(count);
    case 'uint8':
    case 'bool':
      return new Uint8Array(count);
    case 'uint16':
      return new Uint16Array(count);
    case 'uint32':
      return new Uint32Array(count);
    case 'uint64':
      return new BigUint64Array(count);
    case 'string':
      return new Array<string>(count);
  }
}

const SUPPORTED: ReadonlySet<string> = new Set([
  'float32',
  'float64',
  'float16',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'bool',
  'string',
]);

export function isElementType(type: string): type is ElementType {
  return SUPPORTED.has(type);
}

/**
 * Checks a tensor's dims against the model's declared shape: same rank, and every fixed dimension
 * equal. Symbolic and unknown dimensions accept any size.
 */
export function checkShape(meta: TensorMeta, dims: readonly number[]): void {
  if (!meta.shape) return;
  if (dims.length !== meta.shape.length) {
    throw badInput(
      'SHAPE_MISMATCH',
      `input '${meta.name}' has rank ${dims.length} (shape [${dims}]) but the model expects rank ${meta.shape.length} ${describeShape(meta.shape)}`,
      { input: meta.name, expected: meta.shape, received: dims },
    );
  }
  meta.shape.forEach((expected, axis) => {
    if (typeof expected === 'number' && expected > 0 && dims[axis] !== expected) {
      throw badInput(
        'SHAPE_MISMATCH',
        `input '${meta.name}' dimension ${axis} is ${dims[axis]} but the model expects ${expected} ${describeShape(meta.shape ?? [])}`,
        { input: meta.name, expected: meta.shape, received: dims },
      );
    }
  });
}

export function describeShape(shape: readonly (number | string | null)[]): string {
  return `[${shape.map((d) => (d === null || d === -1 ? '?' : String(d))).join(', ')}]`;
}
