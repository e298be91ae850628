import type { ScriptReply } from './protocol.js';

const JSON_TYPE = 'application/json';

/**
 * A run() result as a JSON reply. Azure ML's server JSON-encodes whatever run() returns, so a
 * script that returns `json.dumps(result)` gets a string inside a string. Here a returned string
 * that already is JSON is sent as it is, and only other strings are encoded. Typed arrays become
 * arrays, bigints exact numbers (strings past 2^53).
 */
export function dataReply(value: unknown): ScriptReply {
  if (typeof value === 'string') {
    return {
      status: 200,
      headers: { 'content-type': JSON_TYPE },
      body: isJson(value) ? value : JSON.stringify(value),
    };
  }
  const text = JSON.stringify(value ?? null, jsonReplacer);
  return { status: 200, headers: { 'content-type': JSON_TYPE }, body: text ?? 'null' };
}

/**
 * A raw-mode result (Azure ML's AMLResponse): `{status, headers?, body?}`. Bytes and strings are
 * sent as they are (text/plain unless the script set a content type), anything else as JSON.
 * A result without a numeric `status` is treated as data (JSON, 200).
 */
export function rawReply(value: unknown): ScriptReply {
  if (!isResponse(value)) return dataReply(value);
  const status = value.status ?? value.statusCode ?? 200;
  if (!Number.isInteger(status) || status < 100 || status > 599)
    throw new Error(`run() returned an invalid HTTP status ${status}`);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(value.headers ?? {})) {
    if (v !== undefined && v !== null) headers[k.toLowerCase()] = String(v);
  }
  const body = value.body;
  if (body === undefined || body === null) return { status, headers, body: '' };
  if (typeof body === 'string') {
    headers['content-type'] ??= 'text/plain; charset=utf-8';
    return { status, headers, body };
  }
  if (body instanceof Uint8Array || body instanceof ArrayBuffer) {
    headers['content-type'] ??= 'application/octet-stream';
    return {
      status,
      headers,
      body: body instanceof ArrayBuffer ? new Uint8Array(body) : Uint8Array.from(body),
    };
  }
  headers['content-type'] ??= JSON_TYPE;
  return { status, headers, body: JSON.stringify(body, jsonReplacer) ?? 'null' };
}

interface ResponseLike {
  status?: number;
  statusCode?: number;
  headers?: Record<string, unknown>;
  body?: unknown;
}

function isResponse(value: unknown): value is ResponseLike {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as ResponseLike;
  return typeof v.status === 'number' || typeof v.statusCode === 'number';
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false; // not JSON: the caller encodes it
  }
}

export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint')
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number | bigint>, (v) =>
      typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v,
    );
  }
  return value;
}
