/**
 * JSON documents as IoT Hub treats twin sections (tags, desired, reported): merge patches where
 * `null` deletes, the patch that turns one document into another, and IoT Hub's size rules.
 * Pure functions, no I/O.
 */
import { canonicalJson } from '../../../common/canonical-json.js';
import { badRequest } from './errors.js';

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function cloneJson<T extends Json>(value: T): T {
  return structuredClone(value);
}

export function jsonEquals(a: Json | undefined, b: Json | undefined): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** RFC 7386 merge patch: objects merge key by key, `null` removes a key, anything else replaces. */
export function applyMergePatch(target: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete out[key];
    } else if (isJsonObject(value)) {
      const current = out[key];
      out[key] = applyMergePatch(isJsonObject(current) ? current : {}, value);
    } else {
      out[key] = cloneJson(value);
    }
  }
  return out;
}

/** The merge patch that turns `from` into `to` (removed keys become `null`); empty when they are equal. */
export function diffAsMergePatch(from: JsonObject, to: JsonObject): JsonObject {
  const patch: JsonObject = {};
  for (const key of Object.keys(from)) {
    if (!(key in to)) patch[key] = null;
  }
  for (const [key, value] of Object.entries(to)) {
    const before = from[key];
    if (isJsonObject(value) && isJsonObject(before)) {
      const inner = diffAsMergePatch(before, value);
      if (Object.keys(inner).length > 0) patch[key] = inner;
    } else if (before === undefined || !jsonEquals(before, value)) {
      patch[key] = cloneJson(value);
    }
  }
  return patch;
}

/** Sets `value` at `path` inside `doc`, creating objects on the way (replacing non-objects). */
export function setAtPath(doc: JsonObject, path: readonly string[], value: Json): JsonObject {
  const [head, ...rest] = path;
  if (head === undefined) {
    if (!isJsonObject(value)) throw badRequest('The value at the root of a twin section must be an object');
    return cloneJson(value);
  }
  const out: JsonObject = { ...doc };
  if (rest.length === 0) {
    out[head] = cloneJson(value);
  } else {
    const current = out[head];
    out[head] = setAtPath(isJsonObject(current) ? current : {}, rest, value);
  }
  return out;
}

/** Reads the value at a dotted path; `undefined` when any step is missing. */
export function getAtPath(doc: Json | undefined, path: readonly string[]): Json | undefined {
  let cursor: Json | undefined = doc;
  for (const step of path) {
    if (!isJsonObject(cursor)) return undefined;
    cursor = cursor[step];
  }
  return cursor;
}

/** IoT Hub's limits on twin sections (as documented for IoT Hub's standard tier). */
export const TWIN_LIMITS = {
  sectionBytes: 32 * 1024,
  maxDepth: 10,
  keyBytes: 1024,
  stringValueBytes: 4 * 1024,
} as const;

// Keys may not contain control characters, '.', '$' or a space (IoT Hub's rule for twin JSON).
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are exactly what the rule forbids
const FORBIDDEN_KEY_CHARS = /[\u0000-\u001f\u007f-\u009f.$ ]/;

/**
 * Checks a twin section (or a patch to it) against IoT Hub's rules and throws the 400 IoT Hub gives.
 * `allowNull` is true for patches, where null means "remove".
 */
export function validateTwinSection(section: string, doc: JsonObject, allowNull: boolean): void {
  const bytes = Buffer.byteLength(JSON.stringify(doc));
  if (bytes > TWIN_LIMITS.sectionBytes) {
    throw badRequest(
      `Twin ${section} is ${bytes} bytes; IoT Hub allows at most ${TWIN_LIMITS.sectionBytes} bytes per section`,
    );
  }
  walk(doc, [], 1);

  function walk(value: Json, path: string[], depth: number): void {
    if (typeof value === 'string') {
      if (Buffer.byteLength(value) > TWIN_LIMITS.stringValueBytes) {
        throw badRequest(
          `Twin ${section}.${path.join('.')} is a string over ${TWIN_LIMITS.stringValueBytes} bytes (IoT Hub's limit per value)`,
        );
      }
      return;
    }
    if (value === null) {
      if (!allowNull || path.length === 0) throw badRequest(`Twin ${section}.${path.join('.')} is null`);
      return;
    }
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) walk(item, [...path, String(i)], depth);
      return;
    }
    if (!isJsonObject(value)) return;
    if (depth > TWIN_LIMITS.maxDepth) {
      throw badRequest(`Twin ${section}.${path.join('.')} nests deeper than ${TWIN_LIMITS.maxDepth} levels`);
    }
    for (const [key, inner] of Object.entries(value)) {
      if (
        key.length === 0 ||
        FORBIDDEN_KEY_CHARS.test(key) ||
        Buffer.byteLength(key) > TWIN_LIMITS.keyBytes
      ) {
        throw badRequest(
          `Twin ${section} key '${key}' is not allowed (no '.', '$', space or control characters; at most 1 KB)`,
        );
      }
      walk(inner, [...path, key], depth + 1);
    }
  }
}
