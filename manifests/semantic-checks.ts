/**
 * Checks beyond the official JSON schema: rules that IoT Hub, IoT Edge or Docker enforce but the schema
 * does not express (or expresses so loosely that a mistake only shows on the device).
 */
import type { IssueList, PathSegment } from './errors.js';
import { isObject, type Json, typeName } from './read-helpers.js';

/**
 * IoT Edge names each module's container after the module, so a module name must satisfy both the
 * schema (`^[a-zA-Z0-9_-]+$`) and Docker's container-name rule (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`: starts with
 * a letter or digit, two characters at least); IoT Hub module identities are at most 128 characters.
 */
export const MODULE_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_-]+$/;
export const MODULE_NAME_MAX_LENGTH = 128;
const RESERVED_MODULE_NAMES = ['edgeagent', 'edgehub'];

/** Why `name` cannot be a module name, or undefined when it can. */
export function moduleNameProblem(name: string): string | undefined {
  if (RESERVED_MODULE_NAMES.includes(name.toLowerCase())) {
    return `'${name}' is reserved for the IoT Edge system module; choose another module name`;
  }
  if (name.length > MODULE_NAME_MAX_LENGTH) {
    return `module names may be at most ${MODULE_NAME_MAX_LENGTH} characters (IoT Hub module identity limit)`;
  }
  if (!MODULE_NAME_PATTERN.test(name)) {
    return (
      `'${name}' is not a valid module name: use letters, digits, '-' and '_', starting with a letter or ` +
      'digit, at least 2 characters (IoT Edge uses it as the Docker container name)'
    );
  }
  return undefined;
}

export function checkModuleName(name: string, path: readonly PathSegment[], issues: IssueList): boolean {
  const problem = moduleNameProblem(name);
  if (problem) issues.add(path, 'module-name', problem);
  return problem === undefined;
}

/** Route and registry-credential names: the schema forbids '.', '$', '#' and spaces in these keys. */
export const TWIN_NAME_PATTERN = /^[^.$# ]+$/;

/** Env names as the official schema admits them: no `+`, `#`, `$`, `.` or whitespace. */
export const ENV_NAME_PATTERN = /^[^+#$\s.]+$/;

/**
 * Reads a module's `env` (`{NAME: {value: …}}`) into a plain record of strings. A bare value
 * (`{NAME: "x"}`, a common slip) is reported with rule `env-value`.
 */
export function readEnv(
  env: unknown,
  path: readonly PathSegment[],
  issues: IssueList,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (env === undefined) return out;
  if (!isObject(env)) {
    issues.add(path, 'type', `env must be an object of {"NAME": {"value": …}}, not ${typeName(env)}`);
    return out;
  }
  for (const [name, entry] of Object.entries(env)) {
    const here = [...path, name];
    if (!ENV_NAME_PATTERN.test(name)) {
      issues.add(here, 'additionalProperties', "env names may not contain '+', '#', '$', '.' or whitespace");
      continue;
    }
    const value = envEntryValue(entry);
    if (value === undefined) {
      issues.add(
        here,
        'env-value',
        `env values are written as {"value": <string|number|boolean>}; got ${JSON.stringify(entry)}`,
      );
      continue;
    }
    out[name] = String(value);
  }
  return out;
}

function envEntryValue(entry: unknown): string | number | boolean | undefined {
  if (!isObject(entry)) return undefined;
  const keys = Object.keys(entry);
  if (keys.length !== 1 || keys[0] !== 'value') return undefined;
  const v = (entry as Json)['value'];
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : undefined;
}

/**
 * edgeAgent's own (lenient) image rule: `[repo/…/]name[:tag]` with no whitespace
 * (Microsoft.Azure.Devices.Edge.Agent.Docker.DockerConfig.ImageRegexPattern).
 */
const IMAGE_PATTERN = /^(?:[^/\s]*\/)*[^/:\s]+(?::[^/:\s]+)?$/;

export function checkImage(image: string, path: readonly PathSegment[], issues: IssueList): void {
  if (image.trim() === '') issues.add(path, 'image', 'image must not be empty');
  else if (!IMAGE_PATTERN.test(image)) {
    issues.add(path, 'image', `'${image}' is not an image reference of the form [registry/]repository[:tag]`);
  }
}
