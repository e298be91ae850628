import { readFile } from 'node:fs/promises';
import protobuf from 'protobufjs';
import { UsageError } from '../../common/errors.js';
import { ONNX_ELEMENT_TYPES, onnxProto } from './onnx-proto.js';

/** One graph input or output as a client must shape it. Symbolic dims keep their name; unknown dims are null. */
export interface TensorInfo {
  name: string;
  /** ORT type name (float32, int64, string, …), or `sequence`/`map` for non-tensor values. */
  elementType: string;
  shape: (number | string | null)[] | null;
}

export interface OnnxMetadata {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  modelVersion: number;
  graphName: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  metadataProps: Record<string, string>;
}

// Field numbers from onnx.proto; the walk below skips everything else (weights above all),
// so reading metadata costs one pass over the file, not a decode of every tensor.
const MODEL = {
  irVersion: 1,
  producerName: 2,
  producerVersion: 3,
  modelVersion: 5,
  graph: 7,
  opset: 8,
  props: 14,
};
const GRAPH = { name: 2, initializer: 5, input: 11, output: 12 };
const TENSOR_NAME = 8;
const WIRE_LENGTH_DELIMITED = 2;

export async function readOnnxMetadataFile(path: string): Promise<OnnxMetadata> {
  return readOnnxMetadata(await readFile(path), path);
}

/** Parses the parts of an ONNX ModelProto that describe it. Throws ONNX_INVALID for anything that is not one. */
export function readOnnxMetadata(bytes: Uint8Array, label = 'model'): OnnxMetadata {
  try {
    return walkModel(bytes);
  } catch (cause) {
    throw new UsageError('ONNX_INVALID', `${label} is not a valid ONNX model: ${(cause as Error).message}`, {
      hint: 'pass an .onnx file exported by an ONNX converter, or set --framework to something other than onnx',
      cause,
    });
  }
}

function walkModel(bytes: Uint8Array): OnnxMetadata {
  const proto = onnxProto();
  const reader = protobuf.Reader.create(bytes);
  const meta: OnnxMetadata = {
    irVersion: 0,
    opsets: [],
    producerName: '',
    producerVersion: '',
    modelVersion: 0,
    graphName: '',
    inputs: [],
    outputs: [],
    metadataProps: {},
  };
  let graphBytes: Uint8Array | undefined;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 0) throw new Error('field number 0 is not valid protobuf');
    if (field === MODEL.irVersion && wire === 0) meta.irVersion = Number(reader.int64());
    else if (field === MODEL.producerName && wire === WIRE_LENGTH_DELIMITED)
      meta.producerName = reader.string();
    else if (field === MODEL.producerVersion && wire === WIRE_LENGTH_DELIMITED)
      meta.producerVersion = reader.string();
    else if (field === MODEL.modelVersion && wire === 0) meta.modelVersion = Number(reader.int64());
    else if (field === MODEL.graph && wire === WIRE_LENGTH_DELIMITED) graphBytes = reader.bytes();
    else if (field === MODEL.opset && wire === WIRE_LENGTH_DELIMITED) {
      const opset = proto.ModelProto.lookupType('onnx.OperatorSetIdProto').decode(
        reader.bytes(),
      ) as unknown as {
        domain?: string;
        version?: number | { toNumber(): number };
      };
      meta.opsets.push({ domain: opset.domain || 'ai.onnx', version: toNumber(opset.version) });
    } else if (field === MODEL.props && wire === WIRE_LENGTH_DELIMITED) {
      const entry = proto.ModelProto.lookupType('onnx.StringStringEntryProto').decode(
        reader.bytes(),
      ) as unknown as {
        key?: string;
        value?: string;
      };
      if (entry.key) meta.metadataProps[entry.key] = entry.value ?? '';
    } else reader.skipType(wire);
  }
  if (meta.irVersion <= 0) throw new Error('ir_version is missing');
  if (!graphBytes) throw new Error('the model has no graph');
  walkGraph(graphBytes, meta);
  if (meta.outputs.length === 0) throw new Error('the graph declares no outputs');
  return meta;
}

function walkGraph(bytes: Uint8Array, meta: OnnxMetadata): void {
  const valueInfo = onnxProto().ModelProto.lookupType('onnx.ValueInfoProto');
  const reader = protobuf.Reader.create(bytes);
  const initializerNames = new Set<string>();
  const declaredInputs: TensorInfo[] = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === GRAPH.name && wire === WIRE_LENGTH_DELIMITED) meta.graphName = reader.string();
    else if (field === GRAPH.initializer && wire === WIRE_LENGTH_DELIMITED)
      initializerNames.add(tensorName(reader.bytes()));
    else if ((field === GRAPH.input || field === GRAPH.output) && wire === WIRE_LENGTH_DELIMITED) {
      const info = toTensorInfo(valueInfo.toObject(valueInfo.decode(reader.bytes()), { longs: Number }));
      (field === GRAPH.input ? declaredInputs : meta.outputs).push(info);
    } else reader.skipType(wire);
  }
  // Before IR 4 every initializer was also listed as a graph input; clients never feed those.
  meta.inputs = declaredInputs.filter((input) => !initializerNames.has(input.name));
}

function tensorName(bytes: Uint8Array): string {
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === TENSOR_NAME && (tag & 7) === WIRE_LENGTH_DELIMITED) return reader.string();
    reader.skipType(tag & 7);
  }
  return '';
}

interface DecodedValueInfo {
  name?: string;
  type?: {
    tensor_type?: { elem_type?: number; shape?: { dim?: { dim_value?: number; dim_param?: string }[] } };
    sparse_tensor_type?: { elem_type?: number };
    sequence_type?: unknown;
    map_type?: unknown;
    optional_type?: unknown;
  };
}

function toTensorInfo(raw: Record<string, unknown>): TensorInfo {
  const v = raw as DecodedValueInfo;
  const name = v.name ?? '';
  const tensor = v.type?.tensor_type;
  if (!tensor) {
    const kind = v.type?.sequence_type ? 'sequence' : v.type?.map_type ? 'map' : 'unknown';
    return { name, elementType: kind, shape: null };
  }
  const elementType = ONNX_ELEMENT_TYPES[tensor.elem_type ?? 0] ?? `onnx-type-${tensor.elem_type}`;
  const shape = tensor.shape
    ? (tensor.shape.dim ?? []).map((d) =>
        d.dim_param ? d.dim_param : d.dim_value !== undefined ? d.dim_value : null,
      )
    : null;
  return { name, elementType, shape };
}

function toNumber(v: number | { toNumber(): number } | undefined): number {
  if (v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}
