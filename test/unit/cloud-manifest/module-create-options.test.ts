import { describe, expect, it } from 'vitest';
import { generatedCreateOptions, mergeCreateOptions } from '../../../cloud/manifest/index.js';

describe('generatedCreateOptions', () => {
  it('maps cpu to NanoCpus, memoryInGB to bytes (GiB) and ports to ExposedPorts + PortBindings', () => {
    const { options, sources } = generatedCreateOptions({
      resources: { cpu: 0.25, memoryInGB: 1.5 },
      ports: [5001, { container: 5001, host: 8081 }, { container: 9000, host: 9090 }],
    });
    expect(options).toEqual({
      ExposedPorts: { '5001/tcp': {}, '9000/tcp': {} },
      HostConfig: {
        NanoCpus: 250_000_000,
        Memory: 1_610_612_736,
        PortBindings: {
          '5001/tcp': [{ HostPort: '5001' }, { HostPort: '8081' }],
          '9000/tcp': [{ HostPort: '9090' }],
        },
      },
    });
    expect(sources.get('HostConfig.Memory')).toBe('resources.memoryInGB');
    expect(sources.get('HostConfig.PortBindings.9000/tcp')).toBe('ports');
  });

  it('generates nothing for a module without resources or ports', () => {
    expect(generatedCreateOptions({}).options).toEqual({});
  });
});

describe('mergeCreateOptions', () => {
  it('merges objects key by key, lets explicit values win and reports only real overrides', () => {
    const generated = generatedCreateOptions({ resources: { cpu: 1 }, ports: [80] });
    const { options, overrides } = mergeCreateOptions(
      generated.options,
      {
        HostConfig: {
          NanoCpus: 1_000_000_000,
          PortBindings: { '80/tcp': [{ HostPort: '8080' }] },
          Privileged: true,
        },
        Env: ['A=1'],
      },
      generated.sources,
    );
    expect(options).toEqual({
      ExposedPorts: { '80/tcp': {} },
      HostConfig: {
        NanoCpus: 1_000_000_000,
        PortBindings: { '80/tcp': [{ HostPort: '8080' }] },
        Privileged: true,
      },
      Env: ['A=1'],
    });
    expect(overrides).toEqual([
      {
        field: 'HostConfig.PortBindings.80/tcp',
        source: 'ports',
        generated: [{ HostPort: '80' }],
        explicit: [{ HostPort: '8080' }],
      },
    ]);
  });
});
