/**
 * What a scoring request got and returned, as JSON values for a record, per route:
 * - `/score` on ONNX models: inputs by model input name, as the body gave them (`{"data": [...]}`
 *   for one input, `{"data": {name: ...}}` or `{name: ...}` for several); outputs: the reply;
 * - OIP v2 infer: inputs and outputs by tensor name, `{datatype, shape, data}` (binary tensor data
 *   as base64, with `"encoding": "base64"`);
 * - `/score` served by an entry script: what `run` got (the body, parsed when it is JSON) and what
 *   it returned (the reply, parsed when it is JSON).
 * Pure; undefined when the request or reply cannot be read (the record is skipped, counted).
 */
import { isUtf8 } from 'node:buffer';
import { splitInferBody } from '../oip-binary.js';
import { namedInputs } from './record.js';

export type Captured = { inputs: Record<string, unknown>; outputs: unknown };

function text(value: Buffer | string): string {
  return typeof value === 'string' ? value : value.toString('utf8');
}

/** Text as it is; bytes that are not UTF-8 (an image posted to a script) as base64. */
function textOrBytes(value: Buffer | string): unknown {
  if (typeof value === 'string' || isUtf8(value)) return text(value);
  return { encoding: 'base64', data: value.toString('base64') };
}

function parseJson(value: Buffer | string): unknown {
  try {
    return JSON.parse(text(value));
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

export function captureScore(
  body: Buffer | string,
  reply: Buffer | string,
  inputNames: readonly string[],
): Captured | undefined {
  const json = parseJson(body);
  const outputs = parseJson(reply);
  if (!isObject(json) || outputs === undefined) return undefined;
  const payload = 'data' in json ? json.data : json;
  const [single] = inputNames;
  if (inputNames.length === 1 && single !== undefined && !(isObject(payload) && single in payload))
    return { inputs: { [single]: payload }, outputs };
  if (!isObject(payload)) return undefined;
  const inputs: Record<string, unknown> = {};
  for (const name of inputNames) if (name in payload) inputs[name] = payload[name];
  return { inputs, outputs };
}

interface WireTensor {
  name?: unknown;
  datatype?: unknown;
  shape?: unknown;
  data?: unknown;
  parameters?: { binary_data_size?: unknown } & Record<string, unknown>;
}

/** OIP v2 tensors by name; binary data sliced off `binary` in order, as base64. */
function tensors(list: unknown, binary: Buffer | undefined): Record<string, unknown> | undefined {
  if (!Array.isArray(list)) return undefined;
  const out: Record<string, unknown> = {};
  let offset = 0;
  for (const t of list as WireTensor[]) {
    if (typeof t?.name !== 'string') return undefined;
    const size = t.parameters?.binary_data_size;
    if (typeof size === 'number' && binary) {
      const bytes = binary.subarray(offset, offset + size);
      offset += size;
      out[t.name] = {
        datatype: t.datatype,
        shape: t.shape,
        data: bytes.toString('base64'),
        encoding: 'base64',
      };
    } else out[t.name] = { datatype: t.datatype, shape: t.shape, data: t.data };
  }
  return out;
}

/** A v2 body, JSON or with the binary extension (`headerLength` from Inference-Header-Content-Length). */
function v2Parts(
  value: Buffer | string,
  headerLength: string | undefined,
): { json: unknown; binary?: Buffer } {
  if (headerLength !== undefined && Buffer.isBuffer(value)) {
    try {
      const { header, binary } = splitInferBody(value, headerLength);
      return { json: parseJson(header), binary };
    } catch {
      return { json: undefined };
    }
  }
  return { json: parseJson(value) };
}

export function captureV2(
  body: Buffer | string,
  bodyHeaderLength: string | undefined,
  reply: Buffer | string,
  replyHeaderLength: string | undefined,
): (Captured & { model: string; version: string }) | undefined {
  const request = v2Parts(body, bodyHeaderLength);
  const response = v2Parts(reply, replyHeaderLength);
  if (!isObject(request.json) || !isObject(response.json)) return undefined;
  const inputs = tensors(request.json.inputs, request.binary);
  const outputs = tensors(response.json.outputs, response.binary);
  if (!inputs || !outputs) return undefined;
  return {
    model: String(response.json.model_name ?? ''),
    version: String(response.json.model_version ?? ''),
    inputs,
    outputs,
  };
}

export function captureScript(body: Buffer | string, reply: Buffer | string): Captured {
  const got = parseJson(body);
  const returned = parseJson(reply);
  return {
    inputs: got === undefined ? { data: textOrBytes(body) } : namedInputs(got),
    outputs: returned === undefined ? textOrBytes(reply) : returned,
  };
}
