import type { Schema } from '../swagger.js';

/**
 * Schemas from an entry script's samples, as Azure ML's InferenceSchema derives them from
 * `input_schema('data', NumpyParameterType(sample))`: a sample is an array (nested one level per
 * dimension), a typed array (its element type is enforced), an array of typed arrays, a scalar, or
 * a record of those. Dimension 0 of a top-level array is free (the batch); other lengths and the
 * element types are enforced when a request is converted.
 */
export type SampleSpec =
  | { kind: 'typed'; ctor: TypedArrayName; length: number }
  | { kind: 'array'; item: SampleSpec; length: number }
  | { kind: 'scalar'; type: 'number' | 'string' | 'boolean' }
  | { kind: 'record'; fields: Record<string, SampleSpec> }
  | { kind: 'any' };

type TypedArrayName =
  | 'Float32Array'
  | 'Float64Array'
  | 'Int8Array'
  | 'Int16Array'
  | 'Int32Array'
  | 'Uint8Array'
  | 'Uint8ClampedArray'
  | 'Uint16Array'
  | 'Uint32Array'
  | 'BigInt64Array'
  | 'BigUint64Array';

const TYPED: Record<TypedArrayName, { item: Schema; min?: number; max?: number; big?: boolean }> = {
  Float32Array: { item: { type: 'number', format: 'float' } },
  Float64Array: { item: { type: 'number', format: 'double' } },
  Int8Array: { item: { type: 'integer', format: 'int8' }, min: -128, max: 127 },
  Int16Array: { item: { type: 'integer', format: 'int16' }, min: -32768, max: 32767 },
  Int32Array: { item: { type: 'integer', format: 'int32' }, min: -2147483648, max: 2147483647 },
  Uint8Array: { item: { type: 'integer', format: 'uint8' }, min: 0, max: 255 },
  Uint8ClampedArray: { item: { type: 'integer', format: 'uint8' }, min: 0, max: 255 },
  Uint16Array: { item: { type: 'integer', format: 'uint16' }, min: 0, max: 65535 },
  Uint32Array: { item: { type: 'integer', format: 'uint32' }, min: 0, max: 4294967295 },
  BigInt64Array: { item: { type: 'integer', format: 'int64' }, big: true },
  BigUint64Array: { item: { type: 'integer', format: 'uint64' }, big: true },
};

function typedName(value: unknown): TypedArrayName | undefined {
  if (!ArrayBuffer.isView(value) || value instanceof DataView) return undefined;
  const name = value.constructor.name as TypedArrayName;
  return name in TYPED ? name : Buffer.isBuffer(value) ? 'Uint8Array' : undefined;
}

export function specOf(sample: unknown): SampleSpec {
  const typed = typedName(sample);
  if (typed) return { kind: 'typed', ctor: typed, length: (sample as ArrayLike<unknown>).length };
  if (Array.isArray(sample)) {
    if (sample.length === 0) return { kind: 'array', item: { kind: 'any' }, length: 0 };
    const items = sample.map(specOf);
    const first = items[0] as SampleSpec;
    const same = items.every((s) => sameSpec(s, first));
    return { kind: 'array', item: same ? first : { kind: 'any' }, length: sample.length };
  }
  if (typeof sample === 'number' || typeof sample === 'bigint') return { kind: 'scalar', type: 'number' };
  if (typeof sample === 'string') return { kind: 'scalar', type: 'string' };
  if (typeof sample === 'boolean') return { kind: 'scalar', type: 'boolean' };
  if (sample !== null && typeof sample === 'object') {
    const fields: Record<string, SampleSpec> = {};
    for (const [k, v] of Object.entries(sample)) fields[k] = specOf(v);
    return { kind: 'record', fields };
  }
  return { kind: 'any' };
}

function sameSpec(a: SampleSpec, b: SampleSpec): boolean {
  return (
    JSON.stringify(a, (_k, v) => (_k === 'length' ? undefined : v)) ===
    JSON.stringify(b, (_k, v) => (_k === 'length' ? undefined : v))
  );
}

export function hasMixedTypes(spec: SampleSpec): boolean {
  switch (spec.kind) {
    case 'any':
      return true;
    case 'array':
      return hasMixedTypes(spec.item);
    case 'record':
      return Object.values(spec.fields).some(hasMixedTypes);
    default:
      return false;
  }
}

/** A JSON value for examples: typed arrays become arrays, bigints numbers. */
export function exampleOf(sample: unknown): unknown {
  if (typeof sample === 'bigint') return Number(sample);
  if (ArrayBuffer.isView(sample) && !(sample instanceof DataView)) {
    return Array.from(sample as unknown as ArrayLike<number | bigint>, (v) =>
      typeof v === 'bigint' ? Number(v) : v,
    );
  }
  if (Array.isArray(sample)) return sample.map(exampleOf);
  if (sample !== null && typeof sample === 'object') {
    return Object.fromEntries(Object.entries(sample).map(([k, v]) => [k, exampleOf(v)]));
  }
  return sample;
}

export function schemaOf(spec: SampleSpec, example?: unknown): Schema {
  const withExample = (s: Schema) => (example === undefined ? s : { ...s, example: exampleOf(example) });
  switch (spec.kind) {
    case 'typed':
      return withExample({ type: 'array', format: 'numpy.ndarray', items: TYPED[spec.ctor].item });
    case 'array': {
      const inner = schemaOf(spec.item);
      const { example: _drop, format: _format, ...items } = inner;
      return withExample({ type: 'array', format: 'numpy.ndarray', items });
    }
    case 'scalar':
      return withExample({ type: spec.type });
    case 'record': {
      const properties = Object.fromEntries(Object.entries(spec.fields).map(([k, s]) => [k, schemaOf(s)]));
      return withExample({ type: 'object', properties, required: Object.keys(spec.fields) });
    }
    default:
      return withExample({});
  }
}

/** ServiceInput: an array sample is the `data` input (the guide's shape); a record names each input. */
export function inputSchemaOf(sample: unknown): { schema: Schema; mixedTypes: boolean; spec: SampleSpec } {
  const spec = specOf(sample);
  if (spec.kind === 'record') {
    const properties = Object.fromEntries(
      Object.entries(spec.fields).map(([k, s]) => [k, schemaOf(s, (sample as Record<string, unknown>)[k])]),
    );
    return {
      schema: { type: 'object', properties, required: Object.keys(spec.fields), example: exampleOf(sample) },
      mixedTypes: hasMixedTypes(spec),
      spec,
    };
  }
  return {
    schema: {
      type: 'object',
      properties: { data: schemaOf(spec, sample) },
      required: ['data'],
      example: { data: exampleOf(sample) },
    },
    mixedTypes: hasMixedTypes(spec),
    spec,
  };
}

/** A request that does not match the script's sample: a 400 naming the input. */
export class SampleMismatch extends Error {
  readonly status = 400;
  readonly code = 'INPUT_INVALID';
}

/**
 * Checks a JSON value against a sample and converts it to the sample's own representation (a
 * typed-array sample gives a typed array of that type, nested the same way).
 */
export function convertToSample(value: unknown, spec: SampleSpec, path: string, top = true): unknown {
  switch (spec.kind) {
    case 'any':
      return value;
    case 'scalar':
      if (typeof value !== spec.type)
        throw new SampleMismatch(`${path} must be a ${spec.type}, not ${describe(value)}`);
      return value;
    case 'record': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new SampleMismatch(`${path} must be an object with ${Object.keys(spec.fields).join(', ')}`);
      }
      const record = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [k, s] of Object.entries(spec.fields)) {
        if (!(k in record)) throw new SampleMismatch(`${path === '$' ? '' : `${path}.`}${k} is missing`);
        out[k] = convertToSample(record[k], s, path === '$' ? k : `${path}.${k}`, true);
      }
      const unknown = Object.keys(record).filter((k) => !(k in spec.fields));
      if (unknown.length > 0)
        throw new SampleMismatch(
          `${path === '$' ? 'the body' : path} has unknown field(s) ${unknown.join(', ')}`,
        );
      return out;
    }
    case 'typed':
      return toTyped(value, spec, path, top);
    case 'array': {
      if (!Array.isArray(value)) throw new SampleMismatch(`${path} must be an array, not ${describe(value)}`);
      if (!top && value.length !== spec.length) {
        throw new SampleMismatch(
          `${path} must have ${spec.length} elements (as the sample), not ${value.length}`,
        );
      }
      if (value.length === 0) throw new SampleMismatch(`${path} is empty`);
      return value.map((v, i) => convertToSample(v, spec.item, `${path}[${i}]`, false));
    }
  }
}

function toTyped(
  value: unknown,
  spec: { ctor: TypedArrayName; length: number },
  path: string,
  top: boolean,
): unknown {
  if (!Array.isArray(value))
    throw new SampleMismatch(`${path} must be an array of numbers, not ${describe(value)}`);
  if (!top && value.length !== spec.length) {
    throw new SampleMismatch(
      `${path} must have ${spec.length} elements (as the sample), not ${value.length}`,
    );
  }
  if (value.length === 0) throw new SampleMismatch(`${path} is empty`);
  const info = TYPED[spec.ctor];
  const Ctor = globalThis[spec.ctor] as unknown as new (n: number) => { [i: number]: number | bigint };
  const out = new Ctor(value.length);
  for (let i = 0; i < value.length; i++) {
    const v = value[i];
    if (info.big) {
      const ok =
        (typeof v === 'number' && Number.isSafeInteger(v)) ||
        (typeof v === 'string' && /^-?[0-9]{1,20}$/.test(v));
      if (!ok)
        throw new SampleMismatch(`${path}[${i}] must be a ${info.item.format} integer, not ${describe(v)}`);
      out[i] = BigInt(v as number | string);
    } else {
      if (typeof v !== 'number')
        throw new SampleMismatch(`${path}[${i}] must be a number, not ${describe(v)}`);
      if (info.min !== undefined && (!Number.isInteger(v) || v < info.min || v > (info.max ?? 0))) {
        throw new SampleMismatch(`${path}[${i}] must be a ${info.item.format} integer, not ${v}`);
      }
      out[i] = v;
    }
  }
  return out;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  const text = JSON.stringify(v);
  return typeof v === 'object' ? 'an object' : `${typeof v} ${text?.slice(0, 30) ?? ''}`;
}
