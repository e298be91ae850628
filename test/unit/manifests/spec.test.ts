import { describe, expect, it } from 'vitest';
import {
  DeploymentSpecSchema,
  parseDeploymentSpec,
  validateDeploymentSpec,
} from '../../../manifests/index.js';
import { exampleText, issueKeys, manifestErrorOf } from './helpers.js';

const specErrorKeys = (text: string) => issueKeys(manifestErrorOf(() => parseDeploymentSpec(text)).issues);

describe('parseDeploymentSpec: the examples', () => {
  it('reads the spec that names its images directly, env values as strings', () => {
    const spec = parseDeploymentSpec(exampleText('images.deployment.yaml'));
    expect(spec.name).toBe('sensor-echo');
    expect(spec.modules['tempSensor']).toEqual({
      image: 'mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5',
      env: { SendInterval: '5', SendData: 'true' },
    });
    expect(spec.modules['echo']?.createOptions).toEqual({
      HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } } },
    });
    expect(spec.routes?.['sensorToEcho']).toBe(
      'FROM /messages/modules/tempSensor/outputs/temperatureOutput INTO BrokeredEndpoint("/modules/echo/inputs/input1")',
    );
    expect(spec.routes?.['echoToUpstream']).toEqual({
      route: 'FROM /messages/modules/echo/outputs/* INTO $upstream',
      priority: 1,
      timeToLiveSecs: 3600,
    });
    expect(Object.values(spec.modules).every((m) => m.models === undefined)).toBe(true);
  });

  it('reads the spec that references registry models', () => {
    const spec = parseDeploymentSpec(exampleText('regression.deployment.yaml'));
    expect(spec.modules['scoring']).toEqual({
      models: ['regression10:1'],
      env: { LOG_LEVEL: 'info' },
      resources: { cpu: 1, memoryInGB: 0.5 },
      ports: [{ container: 5001, host: 5001 }],
      executionProvider: ['cpu'],
      collect: { rate: 0.1, fields: { customerId: 'hash', ssn: 'drop' } },
    });
    expect(spec.registryCredentials?.['local']).toEqual({
      address: 'localhost:5000',
      usernameEnv: 'MODELPORT_REGISTRY_USERNAME',
      passwordEnv: 'MODELPORT_REGISTRY_PASSWORD',
    });
  });

  it('reads JSON text as well', () => {
    const spec = parseDeploymentSpec('{"modules": {"scoring": {"models": ["regression10:latest"]}}}');
    expect(spec.modules['scoring']?.models).toEqual(['regression10:latest']);
  });

  it('exports the JSON schema of the spec', () => {
    expect(DeploymentSpecSchema.required).toEqual(['modules']);
    expect(JSON.parse(JSON.stringify(DeploymentSpecSchema)).properties.modules.type).toBe('object');
  });
});

describe('parseDeploymentSpec: what it refuses, by path and rule', () => {
  it('a literal password, saying to use passwordEnv', () => {
    const text = [
      'modules: { scoring: { image: "s:1" } }',
      'registryCredentials:',
      '  acr: { address: myacr.azurecr.io, usernameEnv: ACR_USER, password: hunter2 }',
    ].join('\n');
    const err = manifestErrorOf(() => parseDeploymentSpec(text));
    expect(issueKeys(err.issues)).toEqual([
      '$.registryCredentials.acr.password (no-literal-secret)',
      '$.registryCredentials.acr.passwordEnv (required)',
    ]);
    expect(err.issues[0]?.message).toContain("replace 'password' with 'passwordEnv'");
    expect(err.code).toBe('DEPLOYMENT_SPEC_INVALID');
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/^invalid deployment spec \(2 problems\)/);
  });

  it('a literal password anywhere else too, but not a collected field or env var named so', () => {
    expect(specErrorKeys('modules: { scoring: { image: "s:1" } }\nedgeHub: { password: x }')).toEqual([
      '$.edgeHub.password (no-literal-secret)',
    ]);
    const ok =
      'modules: { s1: { image: "s:1", env: { PASSWORD_FILE: /run/p }, collect: { fields: { password: drop } } } }';
    expect(parseDeploymentSpec(ok).modules['s1']?.collect?.fields).toEqual({ password: 'drop' });
  });

  it.each([
    ['YAML syntax', 'modules:\n  scoring: {image: "s:1"\n', '$ (yaml-syntax)'],
    ['a duplicate key', 'modules:\n  a1: {image: x}\n  a1: {image: y}\n', '$ (yaml-syntax)'],
    ['no modules', 'name: empty\n', '$.modules (required)'],
    [
      'an unknown module field',
      'modules: { scoring: { image: "s:1", imagee: x } }',
      '$.modules.scoring.imagee (additionalProperties)',
    ],
    [
      'a model without a version',
      'modules: { scoring: { models: [regression10] } }',
      '$.modules.scoring.models[0] (pattern)',
    ],
    [
      'a model version 0',
      'modules: { scoring: { models: ["m:0"] } }',
      '$.modules.scoring.models[0] (pattern)',
    ],
    [
      'neither image nor models',
      'modules: { scoring: { env: { A: b } } }',
      '$.modules.scoring (image-or-models)',
    ],
    ['a bad module name', 'modules: { _scoring: { image: "s:1" } }', '$.modules._scoring (module-name)'],
    [
      'a restartPolicy typo',
      'modules: { s1: { image: "s:1", restartPolicy: allways } }',
      '$.modules.s1.restartPolicy (anyOf)',
    ],
    [
      'a port out of range',
      'modules: { s1: { image: "s:1", ports: [70000] } }',
      '$.modules.s1.ports[0] (anyOf)',
    ],
    [
      'a zero cpu',
      'modules: { s1: { image: "s:1", resources: { cpu: 0 } } }',
      '$.modules.s1.resources.cpu (exclusiveMinimum)',
    ],
    [
      'a collect rate over 1',
      'modules: { s1: { image: "s:1", collect: { rate: 2 } } }',
      '$.modules.s1.collect.rate (maximum)',
    ],
    [
      'a collect action typo',
      'modules: { s1: { image: "s:1", collect: { fields: { a: mask } } } }',
      '$.modules.s1.collect.fields.a (anyOf)',
    ],
    [
      'an env value that is an object',
      'modules: { s1: { image: "s:1", env: { A: { b: 1 } } } }',
      '$.modules.s1.env.A (anyOf)',
    ],
    [
      'a route name with a dot',
      'modules: { s1: { image: "s:1" } }\nroutes: { "a.b": "FROM /* INTO $upstream" }',
      "$.routes['a.b'] (additionalProperties)",
    ],
    [
      'a route priority of 10',
      'modules: { s1: { image: "s:1" } }\nroutes: { r: { route: x, priority: 10 } }',
      '$.routes.r (anyOf)',
    ],
    [
      'a createOptions field in the wrong case',
      'modules: { s1: { image: "s:1", createOptions: { hostConfig: {} } } }',
      '$.modules.s1.createOptions.hostConfig (create-options-field)',
    ],
  ])('%s', (_what, text, key) => {
    expect(specErrorKeys(text)).toEqual([key]);
  });

  it('two modules publishing the same host port', () => {
    const text =
      'modules:\n  a1: { image: "a:1", ports: [8080] }\n  b1: { image: "b:1", ports: [{ container: 80, host: 8080 }] }';
    const err = manifestErrorOf(() => parseDeploymentSpec(text));
    expect(issueKeys(err.issues)).toEqual(['$.modules.b1.ports[0] (port-conflict)']);
    expect(err.issues[0]?.message).toContain("already published by module 'a1'");
  });

  it('a YAML error says where', () => {
    const err = manifestErrorOf(() => parseDeploymentSpec('modules:\n  scoring: {image: "s:1"\n'));
    expect(err.issues[0]?.message).toMatch(/^not valid YAML at line \d+, column \d+: /);
  });

  it('validateDeploymentSpec checks an already-parsed value', () => {
    expect(
      validateDeploymentSpec({ modules: { scoring: { image: 's:1', env: { N: 1 } } } }).modules['scoring']
        ?.env,
    ).toEqual({
      N: '1',
    });
    expect(issueKeys(manifestErrorOf(() => validateDeploymentSpec([])).issues)).toEqual(['$ (type)']);
  });
});
