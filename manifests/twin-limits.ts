/**
 * IoT Hub's limits on a twin's desired properties, which every part of a deployment becomes
 * (`$edgeAgent`, `$edgeHub` and each module's `properties.desired`). From the IoT Hub device/module twin
 * docs and the IoT Edge "limits and restrictions" page:
 * - `properties/desired` may be at most 32 KB (the service answers "'Properties.Desired' size should be
 *   less than 32768 bytes"), not counting `$version`/`$metadata`;
 * - a property value at most 4 KB ("Property or Tag value should be maximum 4096 bytes");
 * - a key at most 1 KB, without `.`, `$`, space or control characters; objects at most 10 levels deep.
 * The size is counted as IoT Hub does: the UTF-8 length of every key and string value, 8 bytes per
 * number, 4 per boolean, nested objects as the sum of their contents.
 * The 50-modules-per-deployment limit is "superseded by the 32 KB twin size limit" (same page), so the
 * size check covers it.
 */
import type { IssueList, PathSegment } from './errors.js';

export const TWIN_DESIRED_MAX_BYTES = 32768;
export const TWIN_VALUE_MAX_BYTES = 4096;
export const TWIN_KEY_MAX_BYTES = 1024;
export const TWIN_MAX_DEPTH = 10;

const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what IoT Hub forbids in keys
const BAD_KEY_CHARS = /[.$ \u0000-\u001f\u007f-\u009f]/;

/** Size of a JSON value as IoT Hub counts it against the twin limits. */
export function twinSize(value: unknown): number {
  if (typeof value === 'string') return utf8(value);
  if (typeof value === 'number') return 8;
  if (typeof value === 'boolean') return 4;
  if (value === null || value === undefined) return 4;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + twinSize(v), 0);
  let n = 0;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) n += utf8(k) + twinSize(v);
  return n;
}

/**
 * Records every way `desired` breaks IoT Hub's twin limits. `path` points at the desired object;
 * `what` names the twin in messages (`$edgeAgent`, `module 'scoring'`).
 */
export function checkTwinLimits(
  desired: Record<string, unknown>,
  path: readonly PathSegment[],
  what: string,
  issues: IssueList,
): void {
  const size = twinSize(desired);
  if (size > TWIN_DESIRED_MAX_BYTES) {
    issues.add(
      path,
      'twin-size',
      `the desired properties of ${what} are ${size} bytes as IoT Hub counts them; a twin allows at most ` +
        `${TWIN_DESIRED_MAX_BYTES} (move large settings out of the manifest, e.g. into the image or a mounted file)`,
    );
  }
  walk(desired, path, 1, issues);
}

function walk(
  obj: Record<string, unknown>,
  path: readonly PathSegment[],
  depth: number,
  issues: IssueList,
): void {
  if (depth > TWIN_MAX_DEPTH) {
    issues.add(
      path,
      'twin-depth',
      `objects in twin desired properties may nest at most ${TWIN_MAX_DEPTH} levels`,
    );
    return;
  }
  for (const [key, value] of Object.entries(obj)) {
    const here = [...path, key];
    if (utf8(key) > TWIN_KEY_MAX_BYTES) {
      issues.add(here, 'twin-key-size', `twin property names may be at most ${TWIN_KEY_MAX_BYTES} bytes`);
    }
    if (BAD_KEY_CHARS.test(key)) {
      issues.add(
        here,
        'twin-key',
        "twin property names may not contain '.', '$', spaces or control characters",
      );
    }
    if (typeof value === 'string' && utf8(value) > TWIN_VALUE_MAX_BYTES) {
      issues.add(
        here,
        'twin-value-size',
        `this value is ${utf8(value)} bytes; IoT Hub allows at most ${TWIN_VALUE_MAX_BYTES} per property value`,
      );
    } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      walk(value as Record<string, unknown>, here, depth + 1, issues);
    }
  }
}
