/** Turns Ajv's errors into ManifestIssues: JSONPath of the input, the schema keyword as the rule, a plain message. */
import type { ErrorObject } from 'ajv';
import { formatPath, type ManifestIssue, type PathSegment } from './errors.js';
import { isObject, typeName } from './read-helpers.js';

/** JSON pointer (`/modules/scoring/0`) → segments, numbers where the data at that point is an array. */
export function pointerToSegments(pointer: string, data: unknown): PathSegment[] {
  if (pointer === '') return [];
  const out: PathSegment[] = [];
  let here: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(here)) {
      const i = Number(key);
      out.push(i);
      here = here[i];
    } else {
      out.push(key);
      here = isObject(here) ? here[key] : undefined;
    }
  }
  return out;
}

function describe(e: ErrorObject): { rule: string; message: string; extra?: string } {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { rule: 'required', message: 'required property missing', extra: String(p['missingProperty']) };
    case 'additionalProperties':
      return {
        rule: 'additionalProperties',
        message: 'property not allowed here',
        extra: String(p['additionalProperty']),
      };
    case 'enum': {
      const allowed = (p['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      return { rule: 'enum', message: `must be one of ${allowed}; got ${JSON.stringify(e.data)}` };
    }
    case 'type':
      return {
        rule: 'type',
        message: `must be ${String(p['type']).replace(',', ' or ')}, not ${typeName(e.data)}`,
      };
    case 'pattern':
      return { rule: 'pattern', message: `must match the pattern ${String(p['pattern'])}` };
    case 'minimum':
    case 'maximum':
      return {
        rule: e.keyword,
        message: `must be ${String(p['comparison'])} ${String(p['limit'])}; got ${JSON.stringify(e.data)}`,
      };
    case 'anyOf':
    case 'oneOf':
      return { rule: e.keyword, message: 'does not match any of the allowed forms' };
    default:
      return { rule: e.keyword, message: e.message ?? 'is invalid' };
  }
}

/**
 * Maps Ajv errors (validated with `verbose: true`, so each carries its data) to issues. The alternatives
 * inside a failed `anyOf`/`oneOf` are folded into that one issue. For data validated as a part of a
 * larger document, `drop` leading segments (a wrapper) are removed and `prefix` is put in front.
 */
export function ajvErrorsToIssues(
  errors: readonly ErrorObject[] | null | undefined,
  data: unknown,
  prefix: readonly PathSegment[] = [],
  /** Leading segments of each error path to drop first (wrapper objects added around the part). */
  drop = 0,
): ManifestIssue[] {
  if (!errors) return [];
  const folded = errors
    .filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf')
    .map((e) => `${e.schemaPath}/`);
  const out: ManifestIssue[] = [];
  for (const e of errors) {
    if (folded.some((f) => e.schemaPath.startsWith(f))) continue;
    const { rule, message, extra } = describe(e);
    const segments = [...prefix, ...pointerToSegments(e.instancePath, data).slice(drop)];
    if (extra !== undefined) segments.push(extra);
    out.push({ path: formatPath(segments), rule, message });
  }
  return out;
}
