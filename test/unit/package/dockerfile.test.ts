import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  dockerfileQuote,
  type ImageSpec,
  imageEnv,
  imageLabels,
  renderDockerfile,
} from '../../../cloud/package/dockerfile.js';
import { parseImageRef } from '../../../cloud/package/image-ref.js';
import { parsePlatform } from '../../../cloud/package/platform.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const TEMPLATE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const TEMPLATE_ARM64 = readFileSync(join(ROOT, 'Dockerfile.arm64'), 'utf8');
/** Dockerfile syntax for the build arg, spelled without a JS template placeholder. */
const BASE_ARG = '$' + '{BASE_IMAGE}';
const DIGEST_A = `sha256:${'a'.repeat(64)}`;
const DIGEST_B = `sha256:${'b'.repeat(64)}`;

function spec(overrides: Partial<ImageSpec> = {}): ImageSpec {
  return {
    image: parseImageRef('127.0.0.1:5000/edge/regression:7'),
    platform: parsePlatform('linux/amd64'),
    baseImage: 'node:20-bookworm-slim',
    models: [{ name: 'regression10', version: 3, digest: DIGEST_A, onnxFile: 'regression10.onnx' }],
    entryScript: undefined,
    modelportVersion: '0.1.0',
    source: undefined,
    created: new Date('2026-01-02T03:04:05.000Z'),
    ...overrides,
  };
}

/** The instructions of a Dockerfile, continuation lines joined, comments dropped. */
function instructions(dockerfile: string): string[] {
  return dockerfile
    .replace(/\s*\\\n\s*/g, ' ')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
}

describe('imageEnv', () => {
  it('points AZUREML_MODEL_DIR at the model folder for one model, as Azure ML does', () => {
    expect(imageEnv(spec())).toEqual({
      AZUREML_MODEL_DIR: '/var/azureml-app/azureml-models/regression10/3',
      MODELPORT_MODELS: '[{"name":"regression10","version":"3","file":"regression10.onnx"}]',
    });
  });

  it('points it at the parent for several models, and names the entry script', () => {
    const env = imageEnv(
      spec({
        models: [
          { name: 'a', version: 1, digest: DIGEST_A, onnxFile: 'folder/model.onnx' },
          { name: 'b', version: 2, digest: DIGEST_B, onnxFile: undefined },
        ],
        entryScript: 'score.mjs',
      }),
    );
    expect(env.AZUREML_MODEL_DIR).toBe('/var/azureml-app/azureml-models');
    expect(JSON.parse(env.MODELPORT_MODELS ?? '')).toEqual([
      { name: 'a', version: '1', file: 'folder/model.onnx' },
      { name: 'b', version: '2' },
    ]);
    expect(env.AZUREML_ENTRY_SCRIPT).toBe('/var/azureml-app/score.mjs');
  });
});

describe('imageLabels', () => {
  it('carries OCI annotations and the model name, version and digest', () => {
    const labels = imageLabels(spec({ source: 'https://example.com/modelport.git' }));
    expect(labels).toMatchObject({
      'org.opencontainers.image.title': 'regression',
      'org.opencontainers.image.version': '7',
      'org.opencontainers.image.created': '2026-01-02T03:04:05.000Z',
      'org.opencontainers.image.source': 'https://example.com/modelport.git',
      'org.opencontainers.image.base.name': 'node:20-bookworm-slim',
      'com.modelport.platform': 'linux/amd64',
      'com.modelport.model.name': 'regression10',
      'com.modelport.model.version': '3',
      'com.modelport.model.digest': DIGEST_A,
    });
    expect(JSON.parse(labels['com.modelport.models'] ?? '')).toEqual([
      { name: 'regression10', version: 3, digest: DIGEST_A },
    ]);
    expect(labels['org.opencontainers.image.description']).toContain('regression10:3');
    expect('org.opencontainers.image.source' in imageLabels(spec())).toBe(false);
  });
});

describe('dockerfileQuote', () => {
  it('escapes backslash, double quote and dollar', () => {
    expect(dockerfileQuote('a "b" $HOME \\ c')).toBe('"a \\"b\\" \\$HOME \\\\ c"');
  });

  it('refuses control characters, which a Dockerfile cannot spell', () => {
    expect(() => dockerfileQuote('a\nb')).toThrow(
      expect.objectContaining({ code: 'DOCKERFILE_VALUE_INVALID' }),
    );
  });
});

describe('renderDockerfile', () => {
  it('fills the x64 template: base default, model env, labels, no entry script', () => {
    const out = renderDockerfile(TEMPLATE, spec({ baseImage: 'modelport-test/node-base:20' }));
    const lines = instructions(out);
    expect(lines[0]).toBe('ARG BASE_IMAGE=modelport-test/node-base:20');
    expect(lines[1]).toBe(`FROM ${BASE_ARG}`);
    expect(out.split('\n').filter((l) => l.trim().startsWith('#@modelport:'))).toEqual([]);
    expect(lines).toContain(
      'ENV AZUREML_MODEL_DIR="/var/azureml-app/azureml-models/regression10/3" ' +
        'MODELPORT_MODELS="[{\\"name\\":\\"regression10\\",\\"version\\":\\"3\\",\\"file\\":\\"regression10.onnx\\"}]"',
    );
    const label = lines.find((l) => l.startsWith('LABEL '));
    expect(label).toContain(`"com.modelport.model.digest"="${DIGEST_A}"`);
    expect(lines.some((l) => l.startsWith('COPY entry-script/'))).toBe(false);
    // Runtime settings first (always cached), then layers from the least to the most often changed,
    // then the model's settings: two steps after the COPYs.
    const copies = lines.filter((l) => l.startsWith('COPY '));
    expect(copies).toEqual([
      'COPY node_modules/ /var/azureml-app/node_modules/',
      'COPY app/ /var/azureml-app/',
      'COPY azureml-models/ /var/azureml-app/azureml-models/',
    ]);
    expect(lines).toContain('USER 1000:1000');
    expect(lines).toContain('EXPOSE 5001');
    expect(lines.find((l) => l.startsWith('HEALTHCHECK'))).toMatch(/CMD \["node", "-e", "fetch\(/);
    expect(lines).toContain('CMD ["node", "/var/azureml-app/modules/scoring/main.js"]');
    const firstCopy = lines.findIndex((l) => l.startsWith('COPY '));
    expect(lines.slice(0, firstCopy).map((l) => l.split(' ')[0])).toEqual([
      'ARG',
      'FROM',
      'ENV',
      'WORKDIR',
      'USER',
      'EXPOSE',
      'HEALTHCHECK',
      'CMD',
    ]);
    expect(lines.slice(firstCopy + 3).map((l) => l.split(' ')[0])).toEqual(['ENV', 'LABEL']);
    expect(lines.some((l) => l.startsWith('RUN '))).toBe(false);
  });

  it('fills the arm64 template, which pins the platform of FROM, and copies the entry script', () => {
    const out = renderDockerfile(
      TEMPLATE_ARM64,
      spec({ platform: parsePlatform('linux/arm64'), entryScript: 'score.mjs' }),
    );
    const lines = instructions(out);
    expect(lines).toContain(`FROM --platform=linux/arm64 ${BASE_ARG}`);
    expect(lines).toContain('COPY entry-script/ /var/azureml-app/');
    expect(lines.find((l) => l.startsWith('ENV AZUREML_MODEL_DIR='))).toContain(
      ' AZUREML_ENTRY_SCRIPT="/var/azureml-app/score.mjs"',
    );
    expect(out).toContain('"com.modelport.platform"="linux/arm64"');
  });

  it('keeps a file name with quotes, spaces and dollars intact', () => {
    const out = renderDockerfile(
      TEMPLATE,
      spec({ models: [{ name: 'm', version: 1, digest: DIGEST_A, onnxFile: 'my "odd" $model.onnx' }] }),
    );
    expect(out).toContain('\\"file\\":\\"my \\\\\\"odd\\\\\\" \\$model.onnx\\"');
  });

  it('refuses a template that lost a marker', () => {
    const broken = TEMPLATE.replace('#@modelport:env\n', '');
    expect(() => renderDockerfile(broken, spec())).toThrow(
      expect.objectContaining({
        code: 'DOCKERFILE_TEMPLATE_INVALID',
        message: expect.stringContaining('#@modelport:env'),
      }),
    );
    expect(() => renderDockerfile(TEMPLATE.replace(/^ARG BASE_IMAGE=.*$/m, ''), spec())).toThrow(
      /ARG BASE_IMAGE/,
    );
  });
});
