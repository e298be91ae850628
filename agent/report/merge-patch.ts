/**
 * JSON merge patches (RFC 7386), the shape twin reported-property updates take: only what changed is
 * sent, a removed key is `null`. Pure.
 */
import { canonicalJson } from '../../common/canonical-json.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The patch that turns `from` into `to`; undefined when they are equal. */
export function diffPatch(from: JsonObject, to: JsonObject): JsonObject | undefined {
  const patch: JsonObject = {};
  for (const key of Object.keys(from)) if (!(key in to)) patch[key] = null;
  for (const [key, next] of Object.entries(to)) {
    const prev = from[key];
    if (isObject(prev) && isObject(next)) {
      const sub = diffPatch(prev, next);
      if (sub) patch[key] = sub;
    } else if (prev === undefined || canonicalJson(prev) !== canonicalJson(next)) {
      // A whole object replacing a scalar must not carry nulls (they would be read as deletions).
      patch[key] = isObject(next) ? withoutNulls(next) : next;
    }
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

function withoutNulls(o: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (v !== null) out[k] = isObject(v) ? withoutNulls(v) : v;
  return out;
}

/** Applies a merge patch (a copy; `doc` is not changed). */
export function applyPatch(doc: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = { ...doc };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else {
      const prev = out[key];
      out[key] = isObject(value) ? applyPatch(isObject(prev) ? prev : {}, value) : value;
    }
  }
  return out;
}

/** A plain JSON copy (`undefined` members dropped): a document fit to diff. Reported documents hold no nulls. */
export function toJsonObject(value: object): JsonObject {
  return JSON.parse(JSON.stringify(value)) as JsonObject;
}
