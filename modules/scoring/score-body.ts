import { badInput } from './errors.js';
import { nestedJson, tensorFromNested } from './json-tensor.js';
import type { ServedModel } from './model-host.js';
import { describeShape, type TensorData } from './tensor.js';

/**
 * The body of POST /score for an ONNX model, as the Azure ML guide's clients send it:
 * `{"data": [[…], …]}` for a single-input model, `{"data": {"input_name": […], …}}` for several.
 * Bodies keyed by input names at the top level (`{"a": […], "b": […]}`) are accepted too.
 */
export function decodeScoreBody(body: unknown, model: ServedModel): Record<string, TensorData> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badInput('BODY_INVALID', `the body must be a JSON object like ${exampleBody(model)}`);
  }
  const record = body as Record<string, unknown>;
  const hasData = 'data' in record;
  const payload = hasData ? record.data : record;
  const single = model.inputs.length === 1 ? model.inputs[0] : undefined;
  if (single) {
    if (hasData && Array.isArray(payload)) return { [single.name]: tensorFromNested(payload, single) };
    const keyed = payload as Record<string, unknown> | null;
    if (keyed !== null && typeof keyed === 'object' && !Array.isArray(keyed) && single.name in keyed) {
      return { [single.name]: tensorFromNested(keyed[single.name], single) };
    }
    throw badInput(
      hasData ? 'DATA_INVALID' : 'DATA_MISSING',
      hasData
        ? `"data" must be an array of rows for input '${single.name}' ${describeShape(single.shape ?? [])}`
        : `the body has no "data" field; send ${exampleBody(model)}`,
    );
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw badInput(
      'DATA_INVALID',
      `"data" must be an object with one entry per input: ${exampleBody(model)}`,
    );
  }
  const byName = payload as Record<string, unknown>;
  const inputs: Record<string, TensorData> = {};
  for (const meta of model.inputs) {
    if (!(meta.name in byName)) {
      throw badInput(
        'INPUT_MISSING',
        `input '${meta.name}' is missing; the model takes ${model.inputs.map((i) => `'${i.name}'`).join(', ')}`,
        {
          input: meta.name,
        },
      );
    }
    inputs[meta.name] = tensorFromNested(byName[meta.name], meta);
  }
  const unknown = Object.keys(byName).filter((k) => !model.inputs.some((i) => i.name === k));
  if (unknown.length > 0) {
    throw badInput(
      'INPUT_UNKNOWN',
      `the model has no input named ${unknown.map((u) => `'${u}'`).join(', ')}`,
    );
  }
  return inputs;
}

/** Predictions as JSON: the output's nested array when there is one output, else an object by name. */
export function encodeScoreResult(outputs: Record<string, TensorData>, model: ServedModel): string {
  const names = model.outputs.map((o) => o.name).filter((n) => n in outputs);
  if (names.length === 1 && names[0]) return nestedJson(outputs[names[0]] as TensorData);
  return `{${names.map((n) => `${JSON.stringify(n)}:${nestedJson(outputs[n] as TensorData)}`).join(',')}}`;
}

function exampleBody(model: ServedModel): string {
  if (model.inputs.length === 1) return '{"data": [[...], ...]}';
  return `{"data": {${model.inputs.map((i) => `"${i.name}": [...]`).join(', ')}}}`;
}
