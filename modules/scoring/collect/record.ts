/**
 * A collected record: `{model, version, requestId, time, inputs, outputs}`, inputs keyed by input
 * name with each one kept, dropped or replaced by the sha256 hex of its canonical JSON (a string:
 * equal values hash equally whatever their key order, so records can still be joined on it), as
 * the field settings say.
 */
import { canonicalJson, sha256Hex } from '../../../common/canonical-json.js';
import type { FieldPolicy } from './settings.js';

export interface CollectRecord {
  model: string;
  version: string;
  /** The id the client sent (x-ms-client-request-id, x-ms-request-id, x-request-id) or the server's. */
  requestId: string;
  /** When the request arrived (ISO 8601). */
  time: string;
  inputs: unknown;
  outputs: unknown;
}

export function applyFieldPolicy(
  inputs: Readonly<Record<string, unknown>>,
  fields: Readonly<Record<string, FieldPolicy>>,
): Record<string, unknown> {
  const fallback = fields['*'] ?? 'keep';
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(inputs)) {
    const policy = fields[name] ?? fallback;
    if (policy === 'keep') out[name] = value;
    else if (policy === 'hash') out[name] = sha256Hex(canonicalJson(value));
  }
  return out;
}

/** Inputs that are not an object of named inputs (an entry script's text body) are one input, `data`. */
export function namedInputs(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : { data: value };
}
