import { badInput } from './errors.js';
import { flatJson, tensorFromFlat } from './json-tensor.js';
import { tensorFromBinary, tensorToBinary } from './oip-binary.js';
import { OIP_TO_ELEMENT, oipDatatype } from './oip-types.js';
import type { ServedModel } from './served-model.js';
import { checkShape, describeShape, type TensorData } from './tensor.js';

export interface InferRequestBody {
  id?: string;
  parameters?: Record<string, unknown>;
  inputs: Record<string, TensorData>;
  /** Requested outputs in request order; absent means all. */
  outputs?: string[];
  /** Outputs to return as binary data (the binary tensor extension). */
  binaryOutputs: Set<string>;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Validates an OIP v2 infer request against the model and builds its input tensors. `binary` is
 * the body after the JSON header when the request uses the binary tensor extension.
 */
export function decodeInferRequest(body: unknown, model: ServedModel, binary?: Buffer): InferRequestBody {
  if (!isRecord(body))
    throw badInput('BODY_INVALID', 'the infer request must be a JSON object with an "inputs" array');
  if (body.id !== undefined && typeof body.id !== 'string')
    throw badInput('BODY_INVALID', '"id" must be a string');
  if (body.parameters !== undefined && !isRecord(body.parameters))
    throw badInput('BODY_INVALID', '"parameters" must be an object');
  if (!Array.isArray(body.inputs) || body.inputs.length === 0) {
    throw badInput('BODY_INVALID', '"inputs" must be a non-empty array of {name, shape, datatype, data}');
  }
  const inputs: Record<string, TensorData> = {};
  const cursor = { at: 0 };
  for (const [index, raw] of body.inputs.entries()) {
    const tensor = decodeInput(raw, index, model, binary, cursor);
    if (inputs[tensor.name]) throw badInput('INPUT_DUPLICATE', `input '${tensor.name}' is given twice`);
    inputs[tensor.name] = tensor.data;
  }
  if (binary && cursor.at !== binary.length) {
    throw badInput(
      'BINARY_SIZE_MISMATCH',
      `the body has ${binary.length - cursor.at} bytes of binary data that no input's binary_data_size accounts for`,
    );
  }
  const missing = model.inputs.filter((i) => !inputs[i.name]).map((i) => i.name);
  if (missing.length > 0)
    throw badInput('INPUT_MISSING', `missing input(s) ${missing.map((m) => `'${m}'`).join(', ')}`);
  const binaryDefault = body.parameters?.binary_data_output === true;
  const result: InferRequestBody = { inputs, binaryOutputs: new Set() };
  if (typeof body.id === 'string') result.id = body.id;
  if (body.parameters) result.parameters = body.parameters;
  if (body.outputs !== undefined) {
    const requested = decodeRequestedOutputs(body.outputs, model);
    result.outputs = requested.map((r) => r.name);
    for (const r of requested) if (r.binary ?? binaryDefault) result.binaryOutputs.add(r.name);
  } else if (binaryDefault) {
    for (const o of model.outputs) if (o.type !== 'non-tensor') result.binaryOutputs.add(o.name);
  }
  return result;
}

function decodeInput(
  raw: unknown,
  index: number,
  model: ServedModel,
  binary: Buffer | undefined,
  cursor: { at: number },
): { name: string; data: TensorData } {
  if (!isRecord(raw)) throw badInput('INPUT_INVALID', `inputs[${index}] must be an object`);
  if (typeof raw.name !== 'string') throw badInput('INPUT_INVALID', `inputs[${index}].name must be a string`);
  const meta = model.inputs.find((i) => i.name === raw.name);
  if (!meta) {
    throw badInput(
      'INPUT_UNKNOWN',
      `model '${model.name}' has no input '${raw.name.slice(0, 100)}' (inputs: ${model.inputs.map((i) => i.name).join(', ')})`,
    );
  }
  if (typeof raw.datatype !== 'string' || !OIP_TO_ELEMENT[raw.datatype]) {
    throw badInput(
      'DATATYPE_INVALID',
      `inputs[${index}].datatype must be one of ${Object.keys(OIP_TO_ELEMENT).join(', ')}`,
    );
  }
  const expected = oipDatatype(meta.type);
  if (raw.datatype !== expected) {
    throw badInput(
      'DATATYPE_MISMATCH',
      `input '${meta.name}' has datatype ${raw.datatype} but the model expects ${expected}`,
    );
  }
  if (
    !Array.isArray(raw.shape) ||
    raw.shape.length > 16 ||
    !raw.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)
  ) {
    throw badInput(
      'SHAPE_INVALID',
      `inputs[${index}].shape must be an array of at most 16 non-negative integers`,
    );
  }
  const dims = raw.shape as number[];
  checkShape(meta, dims);
  if (dims.includes(0))
    throw badInput('EMPTY_INPUT', `input '${meta.name}' is empty (shape ${describeShape(dims)})`);
  if (raw.parameters !== undefined && !isRecord(raw.parameters)) {
    throw badInput('INPUT_INVALID', `inputs[${index}].parameters must be an object`);
  }
  const type = OIP_TO_ELEMENT[raw.datatype] ?? 'float32';
  const size = raw.parameters?.binary_data_size;
  if (size === undefined) return { name: meta.name, data: tensorFromFlat(raw.data, dims, type, meta.name) };
  if (!Number.isSafeInteger(size) || (size as number) < 0) {
    throw badInput(
      'BINARY_SIZE_INVALID',
      `input '${meta.name}' binary_data_size must be a non-negative integer`,
    );
  }
  if (raw.data !== undefined) {
    throw badInput('INPUT_INVALID', `input '${meta.name}' has both "data" and binary_data_size; send one`);
  }
  if (!binary) {
    throw badInput(
      'BINARY_DATA_MISSING',
      `input '${meta.name}' has binary_data_size but the request has no Inference-Header-Content-Length header`,
    );
  }
  const end = cursor.at + (size as number);
  if (end > binary.length) {
    throw badInput(
      'BINARY_SIZE_MISMATCH',
      `input '${meta.name}' claims ${size} bytes at offset ${cursor.at} but the binary data has only ${binary.length} bytes`,
    );
  }
  const bytes = binary.subarray(cursor.at, end);
  cursor.at = end;
  return { name: meta.name, data: tensorFromBinary(bytes, dims, type, meta.name) };
}

function decodeRequestedOutputs(raw: unknown, model: ServedModel): { name: string; binary?: boolean }[] {
  if (!Array.isArray(raw)) throw badInput('BODY_INVALID', '"outputs" must be an array of {name}');
  return raw.map((o, index) => {
    if (!isRecord(o) || typeof o.name !== 'string')
      throw badInput('OUTPUT_INVALID', `outputs[${index}].name must be a string`);
    if (!model.outputs.some((m) => m.name === o.name)) {
      throw badInput(
        'OUTPUT_UNKNOWN',
        `model '${model.name}' has no output '${o.name.slice(0, 100)}' (outputs: ${model.outputs.map((m) => m.name).join(', ')})`,
      );
    }
    if (model.outputs.find((m) => m.name === o.name)?.type === 'non-tensor') {
      throw badInput(
        'OUTPUT_NOT_TENSOR',
        `output '${o.name}' is a sequence or map, which this server cannot return`,
      );
    }
    if (o.parameters !== undefined && !isRecord(o.parameters)) {
      throw badInput('OUTPUT_INVALID', `outputs[${index}].parameters must be an object`);
    }
    const binary = o.parameters?.binary_data;
    if (binary !== undefined && typeof binary !== 'boolean') {
      throw badInput('OUTPUT_INVALID', `outputs[${index}].parameters.binary_data must be true or false`);
    }
    return binary === undefined ? { name: o.name } : { name: o.name, binary };
  });
}

/**
 * The OIP v2 infer response, written as JSON text directly from the typed outputs; with binary
 * outputs, the JSON header followed by their bytes, and the header's length to send as
 * Inference-Header-Content-Length.
 */
export function encodeInferResponse(
  model: ServedModel,
  request: InferRequestBody,
  outputs: Record<string, TensorData>,
): { body: string | Buffer; headerLength?: number } {
  const names = request.outputs ?? model.outputs.map((o) => o.name).filter((n) => n in outputs);
  const tails: Buffer[] = [];
  const parts = names.map((name) => {
    const t = outputs[name] as TensorData;
    const head = `{"name":${JSON.stringify(name)},"datatype":"${oipDatatype(t.type)}","shape":[${t.dims.join(',')}]`;
    if (!request.binaryOutputs.has(name)) return `${head},"data":${flatJson(t)}}`;
    const bytes = tensorToBinary(t);
    tails.push(bytes);
    return `${head},"parameters":{"binary_data_size":${bytes.length}}}`;
  });
  const id = request.id !== undefined ? `"id":${JSON.stringify(request.id)},` : '';
  const json = `{"model_name":${JSON.stringify(model.name)},"model_version":${JSON.stringify(model.version)},${id}"outputs":[${parts.join(',')}]}`;
  if (tails.length === 0) return { body: json };
  const header = Buffer.from(json, 'utf8');
  return { body: Buffer.concat([header, ...tails]), headerLength: header.length };
}
