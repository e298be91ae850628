/** Reading and checking a deployment spec (YAML or JSON text) into a typed DeploymentSpec. */
import AjvModule from 'ajv';
import { parseDocument } from 'yaml';
import { ajvErrorsToIssues } from './ajv-issues.js';
import { checkCreateOptionsFields } from './docker-create-fields.js';
import { IssueList, type ManifestErrorOptions, type PathSegment, throwIfIssues } from './errors.js';
import { isObject, type Json } from './read-helpers.js';
import { moduleNameProblem } from './semantic-checks.js';
import { type DeploymentSpec, DeploymentSpecSchema } from './spec-schema.js';

const SPEC_ERROR: ManifestErrorOptions = { subject: 'deployment spec', code: 'DEPLOYMENT_SPEC_INVALID' };

/**
 * Parses a deployment spec from YAML (JSON is YAML too) and checks it. Returns the spec with env values
 * as strings; throws ManifestError (code DEPLOYMENT_SPEC_INVALID, exit 2) naming each bad path and rule.
 */
export function parseDeploymentSpec(text: string): DeploymentSpec {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  const first = doc.errors[0];
  if (first) {
    const where = first.linePos?.[0];
    const at = where ? ` at line ${where.line}, column ${where.col}` : '';
    const message = `not valid YAML${at}: ${first.message.split('\n')[0]}`;
    throwIfIssues([{ path: '$', rule: 'yaml-syntax', message }], SPEC_ERROR);
  }
  return validateDeploymentSpec(doc.toJS());
}

/** Checks an already-parsed spec value; see parseDeploymentSpec. */
export function validateDeploymentSpec(value: unknown): DeploymentSpec {
  const issues = new IssueList();
  // Credentials come from the environment: say so before the schema reports an unknown `password`.
  findLiteralSecrets(value, [], issues);
  const ajv = new AjvModule.default({ allErrors: true, verbose: true, strict: true });
  const check = ajv.compile(DeploymentSpecSchema);
  if (!check(value)) {
    const secretPaths = new Set(issues.items.map((i) => i.path));
    issues.push(...ajvErrorsToIssues(check.errors, value).filter((i) => !secretPaths.has(i.path)));
  }
  if (isObject(value)) checkSpecSemantics(value, issues);
  throwIfIssues(issues.items, SPEC_ERROR);
  return normalizeEnv(value as DeploymentSpec);
}

/** Keys where a data-field or variable name, not a credential, may be called `password`. */
const NAME_MAPS = new Set(['env', 'fields']);

function findLiteralSecrets(value: unknown, path: PathSegment[], issues: IssueList): void {
  if (!isObject(value)) return;
  const parent = path[path.length - 1];
  for (const [key, child] of Object.entries(value)) {
    if (typeof parent === 'string' && NAME_MAPS.has(parent)) continue;
    if (key.toLowerCase() === 'password' || key.toLowerCase() === 'username') {
      issues.add(
        [...path, key],
        'no-literal-secret',
        `credentials are never written in a deployment spec: replace '${key}' with '${key}Env', the name of ` +
          'an environment variable that holds it',
      );
      continue;
    }
    findLiteralSecrets(child, [...path, key], issues);
  }
}

function checkSpecSemantics(spec: Json, issues: IssueList): void {
  const modules = isObject(spec['modules']) ? spec['modules'] : {};
  const hostPorts = new Map<number, string>();
  for (const [name, mod] of Object.entries(modules)) {
    const here = ['modules', name];
    const problem = moduleNameProblem(name);
    if (problem) issues.add(here, 'module-name', problem);
    if (!isObject(mod)) continue;
    if (mod['image'] === undefined && mod['models'] === undefined) {
      issues.add(here, 'image-or-models', 'a module needs `image`, `models`, or both');
    }
    checkSpecCreateOptions(mod['createOptions'], [...here, 'createOptions'], issues);
    const ports = Array.isArray(mod['ports']) ? mod['ports'] : [];
    ports.forEach((p, i) => {
      const host =
        typeof p === 'number' ? p : isObject(p) && typeof p['host'] === 'number' ? p['host'] : undefined;
      if (host === undefined) return;
      const owner = hostPorts.get(host);
      if (owner !== undefined) {
        issues.add(
          [...here, 'ports', i],
          'port-conflict',
          `host port ${host} is already published by module '${owner}'`,
        );
      } else hostPorts.set(host, name);
    });
  }
  for (const system of ['edgeAgent', 'edgeHub']) {
    const sys = spec[system];
    if (isObject(sys)) checkSpecCreateOptions(sys['createOptions'], [system, 'createOptions'], issues);
  }
}

function checkSpecCreateOptions(options: unknown, path: PathSegment[], issues: IssueList): void {
  if (isObject(options)) checkCreateOptionsFields(options, path, issues);
}

function stringEnv(env: unknown): Record<string, string> | undefined {
  if (!isObject(env)) return undefined;
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
}

function normalizeEnv(spec: DeploymentSpec): DeploymentSpec {
  const withEnv = <T extends { env?: Record<string, string> }>(m: T): T => {
    const env = stringEnv(m.env);
    return env ? { ...m, env } : m;
  };
  return {
    ...spec,
    modules: Object.fromEntries(Object.entries(spec.modules).map(([k, m]) => [k, withEnv(m)])),
    ...(spec.edgeAgent && { edgeAgent: withEnv(spec.edgeAgent) }),
    ...(spec.edgeHub && { edgeHub: withEnv(spec.edgeHub) }),
  };
}
