/**
 * Small typed readers for walking untrusted JSON: each checks one field, records an issue named by
 * path and JSON-schema keyword (`required`, `type`, `enum`, …, the same names the official-schema
 * validator reports, so the two deduplicate), and returns the value or undefined.
 */
import type { IssueList, PathSegment } from './errors.js';

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

export class Reader {
  constructor(readonly issues: IssueList) {}

  object(v: unknown, path: readonly PathSegment[]): Json | undefined {
    if (isObject(v)) return v;
    this.issues.add(path, 'type', `must be an object, not ${typeName(v)}`);
    return undefined;
  }

  /** The object at `obj[key]`; records `required` when missing and `type` when not an object. */
  requiredObject(obj: Json, key: string, path: readonly PathSegment[]): Json | undefined {
    if (!(key in obj)) {
      this.issues.add([...path, key], 'required', 'required property missing');
      return undefined;
    }
    return this.object(obj[key], [...path, key]);
  }

  optionalObject(obj: Json, key: string, path: readonly PathSegment[]): Json | undefined {
    return obj[key] === undefined ? undefined : this.object(obj[key], [...path, key]);
  }

  requiredString(obj: Json, key: string, path: readonly PathSegment[]): string | undefined {
    if (!(key in obj)) {
      this.issues.add([...path, key], 'required', 'required property missing');
      return undefined;
    }
    return this.string(obj[key], [...path, key]);
  }

  optionalString(obj: Json, key: string, path: readonly PathSegment[]): string | undefined {
    return obj[key] === undefined ? undefined : this.string(obj[key], [...path, key]);
  }

  string(v: unknown, path: readonly PathSegment[]): string | undefined {
    if (typeof v === 'string') return v;
    this.issues.add(path, 'type', `must be a string, not ${typeName(v)}`);
    return undefined;
  }

  /** A string from a fixed set; `fallback` when absent (or `required` recorded when fallback is undefined). */
  enumValue<T extends string>(
    obj: Json,
    key: string,
    allowed: readonly T[],
    path: readonly PathSegment[],
    fallback?: T,
  ): T | undefined {
    const v = obj[key];
    if (v === undefined) {
      if (fallback === undefined) this.issues.add([...path, key], 'required', 'required property missing');
      return fallback;
    }
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
    this.issues.add(
      [...path, key],
      'enum',
      `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}; got ${JSON.stringify(v)}`,
    );
    return undefined;
  }

  /** An optional integer in [min, max]; `fallback` when absent. */
  integer(
    obj: Json,
    key: string,
    min: number,
    max: number,
    path: readonly PathSegment[],
    fallback?: number,
  ): number | undefined {
    const v = obj[key];
    if (v === undefined) return fallback;
    const here = [...path, key];
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.issues.add(here, 'type', `must be an integer, not ${JSON.stringify(v)}`);
      return undefined;
    }
    if (v < min) {
      this.issues.add(here, 'minimum', `must be ≥ ${min}; got ${v}`);
      return undefined;
    }
    if (v > max) {
      this.issues.add(here, 'maximum', `must be ≤ ${max}; got ${v}`);
      return undefined;
    }
    return v;
  }

  /** Records `additionalProperties` for keys not in `known` and not matching `patterns`. */
  knownKeys(
    obj: Json,
    known: readonly string[],
    path: readonly PathSegment[],
    patterns: readonly RegExp[] = [],
  ) {
    for (const key of Object.keys(obj)) {
      if (known.includes(key) || patterns.some((p) => p.test(key))) continue;
      this.issues.add([...path, key], 'additionalProperties', 'property not allowed here');
    }
  }
}
