import { badInput } from './errors.js';
import { flatJson, tensorFromFlat } from './json-tensor.js';
import type { ServedModel } from './model-host.js';
import { OIP_TO_ELEMENT, oipDatatype } from './oip-types.js';
import { checkShape, describeShape, type TensorData } from './tensor.js';

export interface InferRequestBody {
  id?: string;
  parameters?: Record<string, unknown>;
  inputs: Record<string, TensorData>;
  /** Requested outputs in request order; absent means all. */
  outputs?: string[];
}

/** Validates an OIP v2 JSON infer request against the model and builds its input tensors. */
export function decodeInferRequest(body: unknown, model: ServedModel): InferRequestBody {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badInput('BODY_INVALID', 'the infer request must be a JSON object with an "inputs" array');
  }
  const req = body as Record<string, unknown>;
  if (req.id !== undefined && typeof req.id !== 'string')
    throw badInput('BODY_INVALID', '"id" must be a string');
  if (
    req.parameters !== undefined &&
    (typeof req.parameters !== 'object' || req.parameters === null || Array.isArray(req.parameters))
  ) {
    throw badInput('BODY_INVALID', '"parameters" must be an object');
  }
  if (!Array.isArray(req.inputs) || req.inputs.length === 0) {
    throw badInput('BODY_INVALID', '"inputs" must be a non-empty array of {name, shape, datatype, data}');
  }
  const inputs: Record<string, TensorData> = {};
  for (const [index, raw] of req.inputs.entries()) {
    const tensor = decodeInput(raw, index, model);
    if (inputs[tensor.name]) throw badInput('INPUT_DUPLICATE', `input '${tensor.name}' is given twice`);
    inputs[tensor.name] = tensor.data;
  }
  const missing = model.inputs.filter((i) => !inputs[i.name]).map((i) => i.name);
  if (missing.length > 0)
    throw badInput('INPUT_MISSING', `missing input(s) ${missing.map((m) => `'${m}'`).join(', ')}`);
  const result: InferRequestBody = { inputs };
  if (typeof req.id === 'string') result.id = req.id;
  if (req.parameters) result.parameters = req.parameters as Record<string, unknown>;
  if (req.outputs !== undefined) result.outputs = decodeRequestedOutputs(req.outputs, model);
  return result;
}

function decodeInput(raw: unknown, index: number, model: ServedModel): { name: string; data: TensorData } {
  if (raw === null || typeof raw !== 'object')
    throw badInput('INPUT_INVALID', `inputs[${index}] must be an object`);
  const input = raw as Record<string, unknown>;
  if (typeof input.name !== 'string')
    throw badInput('INPUT_INVALID', `inputs[${index}].name must be a string`);
  const meta = model.inputs.find((i) => i.name === input.name);
  if (!meta) {
    throw badInput(
      'INPUT_UNKNOWN',
      `model '${model.name}' has no input '${input.name}' (inputs: ${model.inputs.map((i) => i.name).join(', ')})`,
    );
  }
  if (typeof input.datatype !== 'string' || !OIP_TO_ELEMENT[input.datatype]) {
    throw badInput(
      'DATATYPE_INVALID',
      `inputs[${index}].datatype must be one of ${Object.keys(OIP_TO_ELEMENT).join(', ')}`,
    );
  }
  const expected = oipDatatype(meta.type);
  if (input.datatype !== expected) {
    throw badInput(
      'DATATYPE_MISMATCH',
      `input '${meta.name}' has datatype ${input.datatype} but the model expects ${expected}`,
    );
  }
  if (
    !Array.isArray(input.shape) ||
    !input.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)
  ) {
    throw badInput('SHAPE_INVALID', `inputs[${index}].shape must be an array of non-negative integers`);
  }
  const dims = input.shape as number[];
  checkShape(meta, dims);
  if (dims.includes(0))
    throw badInput('EMPTY_INPUT', `input '${meta.name}' is empty (shape ${describeShape(dims)})`);
  return {
    name: meta.name,
    data: tensorFromFlat(input.data, dims, OIP_TO_ELEMENT[input.datatype] ?? 'float32', meta.name),
  };
}

function decodeRequestedOutputs(raw: unknown, model: ServedModel): string[] {
  if (!Array.isArray(raw)) throw badInput('BODY_INVALID', '"outputs" must be an array of {name}');
  return raw.map((o, index) => {
    const name = (o as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') throw badInput('OUTPUT_INVALID', `outputs[${index}].name must be a string`);
    if (!model.outputs.some((m) => m.name === name)) {
      throw badInput(
        'OUTPUT_UNKNOWN',
        `model '${model.name}' has no output '${name}' (outputs: ${model.outputs.map((m) => m.name).join(', ')})`,
      );
    }
    return name;
  });
}

/** The OIP v2 infer response, written as JSON text directly from the typed outputs. */
export function encodeInferResponse(
  model: ServedModel,
  request: InferRequestBody,
  outputs: Record<string, TensorData>,
): string {
  const names = request.outputs ?? model.outputs.map((o) => o.name).filter((n) => n in outputs);
  const parts = names.map((name) => {
    const t = outputs[name] as TensorData;
    return `{"name":${JSON.stringify(name)},"datatype":"${oipDatatype(t.type)}","shape":[${t.dims.join(',')}],"data":${flatJson(t)}}`;
  });
  const id = request.id !== undefined ? `"id":${JSON.stringify(request.id)},` : '';
  return `{"model_name":${JSON.stringify(model.name)},"model_version":${JSON.stringify(model.version)},${id}"outputs":[${parts.join(',')}]}`;
}
