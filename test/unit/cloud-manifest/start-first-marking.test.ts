/**
 * Which model modules the generator marks for start-first updates (modelport-agent's proxy owns their
 * public port) and which port each one listens on.
 */
import { describe, expect, it } from 'vitest';
import { generateManifest, memoryLookups, scoringPorts } from '../../../cloud/manifest/index.js';
import { OfficialSchemaValidator, parseDeploymentSpec } from '../../../manifests/index.js';

const validator = new OfficialSchemaValidator();
const lookups = memoryLookups({
  models: [
    { name: 'reg', version: 1, digest: `sha256:${'b'.repeat(64)}`, files: [], onnxFile: 'm.onnx' },
    { name: 'cls', version: 2, digest: `sha256:${'c'.repeat(64)}`, files: [], onnxFile: 'm.onnx' },
  ],
});
const HOST = 'createOptions: {HostConfig: {NetworkMode: host}}';

/** Every module of the manifest generated from `lines` (YAML), with createOptions and env parsed. */
function generate(...lines: string[]) {
  const { manifest } = generateManifest(parseDeploymentSpec(lines.join('\n')), lookups, {}, { validator });
  const modules = manifest.modulesContent.$edgeAgent['properties.desired'].modules;
  return Object.fromEntries(
    Object.entries(modules).map(([name, m]) => [
      name,
      {
        labels: (JSON.parse(m.settings.createOptions ?? '{}') as { Labels?: Record<string, string> }).Labels,
        port: (m.env?.['MODELPORT_PORT'] as { value: string } | undefined)?.value,
      },
    ]),
  );
}

describe('manifest generation: start-first model modules', () => {
  it('labels a model module on the host network start-first and names its port (5001, or the spec env)', () => {
    expect(generate('modules:', `  scorer: {models: ["reg:1"], image: "r/s:1", ${HOST}}`).scorer).toEqual({
      labels: { 'modelport.update': 'start-first' },
      port: '5001',
    });
    const own = generate(
      'modules:',
      `  scorer: {models: ["reg:1"], image: "r/s:1", env: {MODELPORT_PORT: 8080}, ${HOST}}`,
    );
    expect(own.scorer?.port).toBe('8080');
  });

  it('gives two model modules on the host network distinct ports, in module order', () => {
    const both = generate(
      'modules:',
      `  scorer: {models: ["reg:1"], image: "r/s:1", ${HOST}}`,
      `  classifier: {models: ["cls:2"], image: "r/c:1", ${HOST}}`,
    );
    expect(both).toEqual({
      scorer: { labels: { 'modelport.update': 'start-first' }, port: '5001' },
      classifier: { labels: { 'modelport.update': 'start-first' }, port: '5002' },
    });
  });

  it('skips the ports the spec names when it assigns one', () => {
    const named = generate(
      'modules:',
      `  one: {models: ["reg:1"], image: "r/s:1", ${HOST}}`,
      `  two: {models: ["cls:2"], image: "r/c:1", env: {MODELPORT_PORT: 5001}, ${HOST}}`,
      `  three: {models: ["reg:1"], image: "r/s:1", ${HOST}}`,
    );
    expect([named.one?.port, named.two?.port, named.three?.port]).toEqual(['5002', '5001', '5003']);
  });

  it('leaves model modules off the host network alone: each has its own 5001 and no port on the device', () => {
    const bridged = generate(
      'modules:',
      '  scorer: {models: ["reg:1"], image: "r/s:1"}',
      '  classifier: {models: ["cls:2"], image: "r/c:1"}',
    );
    expect(bridged).toEqual({
      scorer: { labels: undefined, port: undefined },
      classifier: { labels: undefined, port: undefined },
    });
  });

  it('leaves modules without models, modules that publish ports, and an explicit choice unmarked', () => {
    expect(generate('modules:', `  scorer: {image: "r/s:1", ${HOST}}`).scorer).toEqual({
      labels: undefined,
      port: undefined,
    });
    const published = generate(
      'modules:',
      '  scorer:',
      '    models: ["reg:1"]',
      '    image: r/s:1',
      '    ports: [5001]',
      '    createOptions: {HostConfig: {NetworkMode: host}}',
    );
    expect(published.scorer?.labels).toBeUndefined();
    const optOut = generate(
      'modules:',
      '  scorer:',
      '    models: ["reg:1"]',
      '    image: r/s:1',
      '    createOptions: {Labels: {modelport.update: recreate}, HostConfig: {NetworkMode: host}}',
    );
    expect(optOut.scorer?.labels).toEqual({ 'modelport.update': 'recreate' });
    // Still on the host network: it gets its own port, so it cannot collide with a start-first module.
    expect(optOut.scorer?.port).toBe('5001');
  });
});

describe('scoringPorts', () => {
  it('assigns only model modules on the host network', () => {
    const host = { HostConfig: { NetworkMode: 'host' } };
    expect(
      scoringPorts({
        a: { models: ['reg:1'], createOptions: host },
        b: { models: ['reg:1'] },
        c: { createOptions: host },
        d: { models: ['cls:2'], createOptions: host, env: { MODELPORT_PORT: '9000' } },
        e: { models: ['cls:2'], createOptions: host },
      }),
    ).toEqual(
      new Map([
        ['a', 5001],
        ['d', 9000],
        ['e', 5002],
      ]),
    );
  });
});
