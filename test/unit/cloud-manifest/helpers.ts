import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { ImageFacts, ModelFacts } from '../../../cloud/manifest/index.js';
import { sha256Hex } from '../../../common/canonical-json.js';
import {
  type DeploymentSpec,
  isManifestError,
  type ManifestError,
  parseDeploymentSpec,
} from '../../../manifests/index.js';

const root = new URL('../../../', import.meta.url);

export function exampleSpec(name: string): DeploymentSpec {
  return parseDeploymentSpec(readFileSync(new URL(`manifests/examples/${name}`, root), 'utf8'));
}

export function exampleJson(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`manifests/examples/${name}`, root), 'utf8'));
}

export function manifestsFixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`test/unit/manifests/fixtures/${name}`, root), 'utf8'));
}

export const hex = (c: string) => c.repeat(64);

export function model(
  name: string,
  version: number,
  files = [{ path: 'model.onnx', sha256: hex('b'), size: 10 }],
): ModelFacts {
  return {
    name,
    version,
    digest: `sha256:${sha256Hex(`${name}:${version}`)}`,
    files,
    onnxFile: 'model.onnx',
  };
}

export function packaged(
  image: string,
  models: ModelFacts[],
  platform = 'linux/amd64',
  createdAt = '2026-01-01T00:00:00Z',
): ImageFacts {
  return {
    image,
    platform,
    digest: null,
    createdAt,
    models: models.map((m) => ({ name: m.name, version: m.version, digest: m.digest })),
  };
}

export function spec(text: string): DeploymentSpec {
  return parseDeploymentSpec(text);
}

export function errorOf(fn: () => unknown): ManifestError {
  try {
    fn();
  } catch (e) {
    if (isManifestError(e)) return e;
    throw e;
  }
  expect.fail('expected a ManifestError');
}

/** `path (rule)` of every issue. */
export function issueKeys(e: ManifestError): string[] {
  return e.issues.map((i) => `${i.path} (${i.rule})`);
}

/** The $edgeAgent desired properties of a manifest. */
// biome-ignore lint/suspicious/noExplicitAny: tests index into manifests of every shape
export function agentOf(manifest: { modulesContent: Record<string, any> }): any {
  return manifest.modulesContent['$edgeAgent']['properties.desired'];
}
