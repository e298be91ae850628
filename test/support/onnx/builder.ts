import { ONNX_TYPE_NUMBERS, onnxProto } from '../../../cloud/registry/onnx-proto.js';

/** A graph input/output: dims are numbers, symbolic names ('N'), or null for unknown. */
export interface ValueSpec {
  name: string;
  type: string;
  shape: (number | string | null)[];
}

export interface InitializerSpec {
  name: string;
  type: 'float32' | 'int64' | 'float64' | 'int32';
  dims: number[];
  values: ArrayLike<number> | readonly bigint[];
}

export type AttributeValue = number | string | number[] | { float: number } | { floats: number[] };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  domain?: string;
  attributes?: Record<string, AttributeValue>;
}

export interface ModelSpec {
  graphName: string;
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodes: NodeSpec[];
  initializers?: InitializerSpec[];
  opset?: number;
  /** Extra operator-set imports, e.g. ai.onnx.ml. */
  extraOpsets?: { domain: string; version: number }[];
  producerName?: string;
  docString?: string;
}

const ATTR = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

/** Serializes a ModelSpec into the bytes of a real .onnx file (IR version 8, opset 17 by default). */
export function buildModelBytes(spec: ModelSpec): Uint8Array {
  const { ModelProto } = onnxProto();
  const model = {
    ir_version: 8,
    producer_name: spec.producerName ?? 'modelport-test-fixtures',
    producer_version: '1.0',
    doc_string: spec.docString ?? '',
    opset_import: [{ domain: '', version: spec.opset ?? 17 }, ...(spec.extraOpsets ?? [])],
    graph: {
      name: spec.graphName,
      node: spec.nodes.map((n, i) => ({
        name: `${n.op.toLowerCase()}_${i}`,
        op_type: n.op,
        domain: n.domain ?? '',
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attributes ?? {}).map(([name, value]) => toAttribute(name, value)),
      })),
      initializer: (spec.initializers ?? []).map(toTensor),
      input: spec.inputs.map(toValueInfo),
      output: spec.outputs.map(toValueInfo),
    },
  };
  const message = ModelProto.fromObject(model);
  return ModelProto.encode(message).finish();
}

function toAttribute(name: string, value: AttributeValue): Record<string, unknown> {
  if (typeof value === 'string') return { name, type: ATTR.STRING, s: Buffer.from(value) };
  if (typeof value === 'number') return { name, type: ATTR.INT, i: value };
  if (Array.isArray(value)) return { name, type: ATTR.INTS, ints: value };
  if ('float' in value) return { name, type: ATTR.FLOAT, f: value.float };
  return { name, type: ATTR.FLOATS, floats: value.floats };
}

function toTensor(init: InitializerSpec): Record<string, unknown> {
  const count = init.dims.reduce((a, b) => a * b, 1);
  if (init.values.length !== count) {
    throw new Error(`initializer ${init.name}: ${init.values.length} values for dims [${init.dims}]`);
  }
  return {
    name: init.name,
    dims: init.dims,
    data_type: ONNX_TYPE_NUMBERS[init.type],
    raw_data: Buffer.from(rawBytes(init).buffer),
  };
}

function rawBytes(init: InitializerSpec): ArrayBufferView & { buffer: ArrayBufferLike } {
  const values = Array.from(init.values as ArrayLike<number | bigint>);
  switch (init.type) {
    case 'float32':
      return Float32Array.from(values, Number);
    case 'float64':
      return Float64Array.from(values, Number);
    case 'int32':
      return Int32Array.from(values, Number);
    case 'int64':
      return BigInt64Array.from(values, (v) => BigInt(v));
  }
}

function toValueInfo(v: ValueSpec): Record<string, unknown> {
  const elemType = ONNX_TYPE_NUMBERS[v.type];
  if (elemType === undefined) throw new Error(`unknown element type ${v.type}`);
  return {
    name: v.name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: {
          dim: v.shape.map((d) =>
            typeof d === 'number' ? { dim_value: d } : d === null ? {} : { dim_param: d },
          ),
        },
      },
    },
  };
}

/** Deterministic pseudo-random numbers (mulberry32) so fixtures are identical on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` float32 values in [-scale, scale). */
export function randomWeights(count: number, seed: number, scale: number): Float32Array {
  const rand = seededRandom(seed);
  return Float32Array.from({ length: count }, () => (rand() * 2 - 1) * scale);
}
