import { describe, expect, it } from 'vitest';
import { generateManifest, memoryLookups } from '../../../cloud/manifest/index.js';
import { joinCreateOptions, OfficialSchemaValidator, validateDeployment } from '../../../manifests/index.js';
import { agentOf, errorOf, exampleSpec, issueKeys, model, packaged, spec } from './helpers.js';

const validator = new OfficialSchemaValidator();
const env = { MODELPORT_REGISTRY_USERNAME: 'edge', MODELPORT_REGISTRY_PASSWORD: 's3cret' };
const regression = model('regression10', 1);
const regressionLookups = memoryLookups({
  models: [regression],
  images: [packaged('localhost:5000/regression:1', [regression])],
});

const createOptionsOf = (manifest: Parameters<typeof agentOf>[0], name: string) =>
  joinCreateOptions(agentOf(manifest).modules[name].settings);

describe('generateManifest from the examples', () => {
  it('turns the images-only example into a manifest with no registry at all', () => {
    const { manifest, modules, warnings } = generateManifest(
      exampleSpec('images.deployment.yaml'),
      memoryLookups({}),
      {},
      { validator },
    );
    expect(validateDeployment(manifest, validator).edgeAgent.modules).toHaveProperty('echo');
    expect(modules.map((m) => [m.name, m.imageSource])).toEqual([
      ['tempSensor', 'spec'],
      ['echo', 'spec'],
    ]);
    expect(warnings).toEqual([]);
    const echo = agentOf(manifest).modules.echo;
    expect(echo).toMatchObject({
      restartPolicy: 'on-failure',
      startupOrder: 2,
      settings: { image: 'localhost:5000/echo:1.0' },
    });
    expect(agentOf(manifest).modules.tempSensor.env).toEqual({
      SendInterval: { value: '5' },
      SendData: { value: 'true' },
    });
    expect(createOptionsOf(manifest, 'echo')).toEqual({
      ExposedPorts: { '8080/tcp': {} },
      HostConfig: {
        PortBindings: { '8080/tcp': [{ HostPort: '8080' }] },
        LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
      },
    });
    const hub = manifest.modulesContent.$edgeHub['properties.desired'];
    expect(hub.routes.echoToUpstream).toEqual({
      route: 'FROM /messages/modules/echo/outputs/* INTO $upstream',
      priority: 1,
      timeToLiveSecs: 3600,
    });
    expect(hub.storeAndForwardConfiguration).toEqual({ timeToLiveSecs: 7200 });
  });

  it('runs the packaged image of a registered model, with its env, resources and twin', () => {
    const { manifest, modules } = generateManifest(
      exampleSpec('regression.deployment.yaml'),
      regressionLookups,
      env,
      { validator },
    );
    validateDeployment(manifest, validator);
    expect(modules).toEqual([
      {
        name: 'scoring',
        image: 'localhost:5000/regression:1',
        imageSource: 'packaged',
        platform: 'linux/amd64',
        models: [{ name: 'regression10', version: 1, digest: regression.digest }],
      },
    ]);
    const scoring = agentOf(manifest).modules.scoring;
    expect(scoring.env).toEqual({
      AZUREML_MODEL_DIR: { value: '/var/azureml-app/azureml-models/regression10/1' },
      MODELPORT_MODELS: { value: '[{"name":"regression10","version":"1","file":"model.onnx"}]' },
      MODELPORT_EXPECTED_MODELS: {
        value: JSON.stringify([{ name: 'regression10', version: '1', digest: regression.digest }]),
      },
      MODELPORT_COLLECT_RATE: { value: '0.1' },
      MODELPORT_COLLECT_FIELDS: { value: '{"customerId":"hash","ssn":"drop"}' },
      LOG_LEVEL: { value: 'info' },
    });
    // cpu 1 → 10⁹ NanoCpus; memoryInGB 0.5 → 0.5 GiB in bytes.
    expect(createOptionsOf(manifest, 'scoring')).toEqual({
      ExposedPorts: { '5001/tcp': {} },
      HostConfig: {
        NanoCpus: 1_000_000_000,
        Memory: 536_870_912,
        PortBindings: { '5001/tcp': [{ HostPort: '5001' }] },
      },
    });
    expect(manifest.modulesContent['scoring']?.['properties.desired']).toEqual({
      models: [
        {
          name: 'regression10',
          version: 1,
          digest: regression.digest,
          files: [{ path: 'model.onnx', sha256: regression.files[0]?.sha256 }],
        },
      ],
      collect: { rate: 0.1, fields: { customerId: 'hash', ssn: 'drop' } },
      executionProvider: ['cpu'],
    });
    expect(agentOf(manifest).runtime.settings.registryCredentials).toEqual({
      local: { username: 'edge', password: 's3cret', address: 'localhost:5000' },
    });
  });
});

describe('generateManifest: models and images', () => {
  it('resolves name:latest and serves several models from the models root', () => {
    const a1 = model('a', 1);
    const a2 = model('a', 2);
    const b = model('b', 3);
    const lookups = memoryLookups({ models: [a1, a2, b], images: [packaged('reg/ab:2', [b, a2])] });
    const { manifest, modules } = generateManifest(
      spec('modules:\n  multi:\n    models: ["a:latest", "b:3"]\nroutes: {}\n'),
      lookups,
      {},
      { validator },
    );
    expect(modules[0]?.models.map((m) => `${m.name}:${m.version}`)).toEqual(['a:2', 'b:3']);
    expect(modules[0]?.image).toBe('reg/ab:2');
    expect(agentOf(manifest).modules.multi.env.AZUREML_MODEL_DIR).toEqual({
      value: '/var/azureml-app/azureml-models',
    });
  });

  it('names the module and model of an unknown model, and the versions that exist', () => {
    const e = errorOf(() =>
      generateManifest(spec('modules:\n  scoring:\n    models: ["regression10:7"]\n'), regressionLookups, {}),
    );
    expect(e.code).toBe('MODEL_NOT_FOUND');
    expect(e.exitCode).toBe(3);
    expect(issueKeys(e)).toEqual(['$.modules.scoring.models[0] (model-not-found)']);
    expect(e.message).toContain('regression10:7 is not registered (versions: 1)');
  });

  it('refuses models that were never packaged, with the package command to run', () => {
    const lonely = model('lonely', 2);
    const e = errorOf(() =>
      generateManifest(
        spec('modules:\n  scoring:\n    models: ["lonely:2"]\n'),
        memoryLookups({ models: [lonely] }),
        {},
      ),
    );
    expect(e.code).toBe('IMAGE_NOT_PACKAGED');
    expect(e.exitCode).toBe(3);
    expect(issueKeys(e)).toEqual(['$.modules.scoring.models (image-not-packaged)']);
    expect(e.message).toContain('modelport package --model lonely:2 --image REPO:TAG');
    expect(e.message).toContain("set `image:` on module 'scoring'");
  });

  it('does not take an image packaged for a different set of models', () => {
    const a = model('a', 1);
    const b = model('b', 1);
    const lookups = memoryLookups({ models: [a, b], images: [packaged('reg/ab:1', [a, b])] });
    const e = errorOf(() => generateManifest(spec('modules:\n  mod:\n    models: ["a:1"]\n'), lookups, {}));
    expect(e.code).toBe('IMAGE_NOT_PACKAGED');
  });

  it('reports every unresolved reference at once', () => {
    const lonely = model('lonely', 1);
    const e = errorOf(() =>
      generateManifest(
        spec('modules:\n  one:\n    models: ["ghost:1"]\n  two:\n    models: ["lonely:1"]\n'),
        memoryLookups({ models: [lonely] }),
        {},
      ),
    );
    expect(e.code).toBe('SPEC_REFERENCES_UNRESOLVED');
    expect(issueKeys(e)).toEqual([
      '$.modules.one.models[0] (model-not-found)',
      '$.modules.two.models (image-not-packaged)',
    ]);
  });

  it('refuses an image packaged from files the model no longer has', () => {
    const current = model('m', 1);
    const stale = {
      ...packaged('reg/m:1', [current]),
      models: [{ name: 'm', version: 1, digest: `sha256:${'0'.repeat(64)}` }],
    };
    const e = errorOf(() =>
      generateManifest(
        spec('modules:\n  mod:\n    models: ["m:1"]\n'),
        memoryLookups({ models: [current], images: [stale] }),
        {},
      ),
    );
    expect(issueKeys(e)).toEqual(['$.modules.mod.models (image-stale)']);
  });

  it('takes the newest of several packaged images and says which', () => {
    const m = model('m', 1);
    const lookups = memoryLookups({
      models: [m],
      images: [
        packaged('reg/m:arm', [m], 'linux/arm64', '2026-02-01T00:00:00Z'),
        packaged('reg/m:amd', [m], 'linux/amd64'),
      ],
    });
    const { modules, warnings } = generateManifest(
      spec('modules:\n  mod:\n    models: ["m:1"]\nroutes: {}\n'),
      lookups,
      {},
    );
    expect(modules[0]).toMatchObject({ image: 'reg/m:arm', platform: 'linux/arm64' });
    expect(warnings.join('\n')).toContain('using the newest, reg/m:arm (linux/arm64)');
  });

  it('uses an image the spec names even with models, warning when it was packaged for others', () => {
    const a = model('a', 1);
    const b = model('b', 1);
    const lookups = memoryLookups({ models: [a, b], images: [packaged('reg/a:1', [a])] });
    const { modules, warnings } = generateManifest(
      spec('modules:\n  mod:\n    models: ["b:1"]\n    image: reg/a:1\nroutes: {}\n'),
      lookups,
      {},
    );
    expect(modules[0]).toMatchObject({ image: 'reg/a:1', imageSource: 'spec' });
    expect(warnings).toEqual(["module 'mod': image reg/a:1 was packaged for a:1, not for b:1"]);
  });

  it('sends model modules upstream when the spec has no routes', () => {
    const { manifest, warnings } = generateManifest(
      spec('modules:\n  scoring:\n    models: ["regression10:1"]\n'),
      regressionLookups,
      {},
    );
    expect(manifest.modulesContent.$edgeHub['properties.desired'].routes).toEqual({
      scoringToUpstream: 'FROM /messages/modules/scoring/outputs/* INTO $upstream',
    });
    expect(warnings.join('\n')).toContain('the spec has no routes');
  });

  it('leaves file lists out of the twin when they do not fit, keeping the digest', () => {
    const files = Array.from({ length: 300 }, (_, i) => ({
      path: `weights/shard-${i}.bin`,
      sha256: `${i}`.padStart(64, '0'),
      size: 1,
    }));
    const big = model('big', 1, files);
    const lookups = memoryLookups({ models: [big], images: [packaged('reg/big:1', [big])] });
    const { manifest, warnings } = generateManifest(
      spec('modules:\n  big:\n    models: ["big:1"]\nroutes: {}\n'),
      lookups,
      {},
    );
    expect(manifest.modulesContent['big']?.['properties.desired']).toEqual({
      models: [{ name: 'big', version: 1, digest: big.digest }],
    });
    expect(warnings.join('\n')).toContain('the device checks their digests only');
  });
});

describe('generateManifest: createOptions, env and credentials', () => {
  it("lets the spec's createOptions win over resources and names the override", () => {
    const { manifest, warnings } = generateManifest(
      spec(
        'modules:\n  mod:\n    image: reg/m:1\n    resources: {memoryInGB: 1}\n    createOptions:\n      HostConfig: {Memory: 268435456, Privileged: false}\n',
      ),
      memoryLookups({}),
      {},
    );
    expect(createOptionsOf(manifest, 'mod')).toEqual({
      HostConfig: { Memory: 268_435_456, Privileged: false },
    });
    expect(warnings).toEqual([
      "module 'mod': createOptions.HostConfig.Memory = 268435456 overrides 1073741824 from resources.memoryInGB",
    ]);
  });

  it('refuses createOptions values Docker would refuse, naming each field', () => {
    const e = errorOf(() =>
      generateManifest(
        spec(
          [
            'modules:',
            '  mod:',
            '    image: reg/m:1',
            '    resources: {cpu: 2}',
            '    createOptions:',
            '      Env: "A=1"',
            '      HostConfig:',
            '        CpuPeriod: 100000',
            '        PortBindings: {"80/tcp": [{HostPort: 8080}]}',
            '        LogConfig: {Type: json-file, Config: {max-file: 3}}',
            '        RestartPolicy: {Name: sometimes}',
          ].join('\n'),
        ),
        memoryLookups({}),
        {},
      ),
    );
    expect(e.code).toBe('DEPLOYMENT_SPEC_INVALID');
    expect(e.exitCode).toBe(2);
    expect(issueKeys(e).sort()).toEqual(
      [
        '$.modules.mod.createOptions.Env (create-options-value)',
        '$.modules.mod.resources.cpu (create-options-value)',
        "$.modules.mod.createOptions.HostConfig.PortBindings['80/tcp'][0].HostPort (create-options-value)",
        '$.modules.mod.createOptions.HostConfig.LogConfig.Config.max-file (create-options-value)',
        '$.modules.mod.createOptions.HostConfig.RestartPolicy.Name (create-options-value)',
      ].sort(),
    );
    expect(e.message).toContain('Nano CPUs and CPU Period cannot both be set');
  });

  it('reports a memory limit under Docker minimum at resources.memoryInGB', () => {
    const e = errorOf(() =>
      generateManifest(
        spec('modules:\n  mod:\n    image: reg/m:1\n    resources: {memoryInGB: 0.001}\n'),
        memoryLookups({}),
        {},
      ),
    );
    expect(issueKeys(e)).toEqual(['$.modules.mod.resources.memoryInGB (create-options-value)']);
  });

  it('names each missing credential variable and never the other values', () => {
    const e = errorOf(() =>
      generateManifest(exampleSpec('regression.deployment.yaml'), regressionLookups, {
        MODELPORT_REGISTRY_USERNAME: 'edge',
      }),
    );
    expect(e.code).toBe('DEPLOYMENT_SPEC_INVALID');
    expect(issueKeys(e)).toEqual(['$.registryCredentials.local.passwordEnv (env-missing)']);
    expect(e.message).toContain('environment variable MODELPORT_REGISTRY_PASSWORD is not set');
    const empty = errorOf(() =>
      generateManifest(exampleSpec('regression.deployment.yaml'), regressionLookups, {
        ...env,
        MODELPORT_REGISTRY_USERNAME: '',
      }),
    );
    expect(empty.message).toContain('MODELPORT_REGISTRY_USERNAME is empty');
  });

  it("keeps the spec's env over the image's, with a warning", () => {
    const { manifest, warnings } = generateManifest(
      spec(
        'modules:\n  scoring:\n    models: ["regression10:1"]\n    env: {AZUREML_MODEL_DIR: /models}\nroutes: {}\n',
      ),
      regressionLookups,
      {},
    );
    expect(agentOf(manifest).modules.scoring.env.AZUREML_MODEL_DIR).toEqual({ value: '/models' });
    expect(warnings).toEqual([
      "module 'scoring': env AZUREML_MODEL_DIR from the spec replaces the value the packaged image expects",
    ]);
  });

  it("refuses a spec whose manifest exceeds IoT Hub's 32 KB per twin", () => {
    const envLines = Array.from({ length: 40 }, (_, i) => `      VAR_${i}: "${'x'.repeat(1000)}"`).join('\n');
    const e = errorOf(() =>
      generateManifest(
        spec(`modules:\n  mod:\n    image: reg/m:1\n    env:\n${envLines}\n`),
        memoryLookups({}),
        {},
      ),
    );
    expect(e.code).toBe('MANIFEST_INVALID');
    expect(issueKeys(e)).toContain("$.modulesContent.$edgeAgent['properties.desired'] (twin-size)");
    expect(e.message).toContain('at most 32768');
  });

  it('puts collect and executionProvider of an image-only module in its twin', () => {
    const { manifest } = generateManifest(
      spec('modules:\n  mod:\n    image: reg/m:1\n    executionProvider: [cuda, cpu]\n'),
      memoryLookups({}),
      {},
    );
    expect(manifest.modulesContent['mod']?.['properties.desired']).toEqual({
      executionProvider: ['cuda', 'cpu'],
    });
  });
});
