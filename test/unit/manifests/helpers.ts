import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { isManifestError, type ManifestError, type ManifestIssue } from '../../../manifests/index.js';

const root = new URL('../../../', import.meta.url);

/** A JSON fixture from test/unit/manifests/fixtures/, freshly parsed (safe to mutate). */
export function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`test/unit/manifests/fixtures/${name}`, root), 'utf8'));
}

/** A file from manifests/examples/ as text. */
export function exampleText(name: string): string {
  return readFileSync(new URL(`manifests/examples/${name}`, root), 'utf8');
}

/** The hand-written az-style example manifest, freshly parsed (safe to mutate). */
export function azExample(): Record<string, unknown> {
  return JSON.parse(exampleText('az-set-modules.deployment.json'));
}

export const REMOVE = Symbol('remove');

/** Sets (or with REMOVE deletes) the value at `path` inside `doc`, creating objects on the way; returns doc. */
export function change<T>(doc: T, path: readonly string[], value: unknown): T {
  let here = doc as Record<string, unknown>;
  for (const key of path.slice(0, -1)) {
    if (typeof here[key] !== 'object' || here[key] === null) here[key] = {};
    here = here[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1] as string;
  if (value === REMOVE) delete here[last];
  else here[last] = value;
  return doc;
}

/** The object at `path` inside `doc` (for reading nested parts of a parsed JSON fixture). */
export function at(doc: unknown, path: readonly string[]): Record<string, unknown> {
  let here = doc;
  for (const key of path) here = (here as Record<string, unknown>)[key];
  return here as Record<string, unknown>;
}

/** Path segments of the `$edgeAgent` desired properties in a whole deployment. */
export const AGENT_SEGMENTS = ['modulesContent', '$edgeAgent', 'properties.desired'] as const;
export const HUB_SEGMENTS = ['modulesContent', '$edgeHub', 'properties.desired'] as const;
export const SCORING = [...AGENT_SEGMENTS, 'modules', 'scoring'] as const;

/** Runs `fn`, expects a ManifestError, and returns it. */
export function manifestErrorOf(fn: () => unknown): ManifestError {
  try {
    fn();
  } catch (e) {
    if (isManifestError(e)) return e;
    throw e;
  }
  expect.fail('expected a ManifestError, but nothing was thrown');
}

/** The issues of a ManifestError as `path (rule)` strings, for compact assertions. */
export function issueKeys(issues: readonly ManifestIssue[]): string[] {
  return issues.map((i) => `${i.path} (${i.rule})`);
}

/** `$.modulesContent.$edgeAgent['properties.desired']`, the prefix of most paths in a deployment. */
export const AGENT = "$.modulesContent.$edgeAgent['properties.desired']";
export const HUB = "$.modulesContent.$edgeHub['properties.desired']";
