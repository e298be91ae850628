import { describe, expect, it } from 'vitest';
import { toLayeredContent } from '../../../cloud/fleet/index.js';
import {
  assertValidManifest,
  checkManifest,
  isLayeredContent,
  maskSecrets,
} from '../../../cloud/manifest/index.js';
import { type ModulesContentWire, OfficialSchemaValidator } from '../../../manifests/index.js';
import { errorOf, exampleJson, issueKeys, manifestsFixture } from './helpers.js';

const validator = new OfficialSchemaValidator();
const keys = (json: unknown) => checkManifest(json, validator).issues.map((i) => `${i.path} (${i.rule})`);
// biome-ignore lint/suspicious/noExplicitAny: tests reach into manifests of every shape
const agentModules = (json: any) => json.modulesContent.$edgeAgent['properties.desired'].modules;

describe('checkManifest on manifests other tools wrote', () => {
  it.each([
    [
      'az-set-modules.deployment.json (az iot edge set-modules)',
      () => exampleJson('az-set-modules.deployment.json'),
      'deployment',
      ['scoring'],
    ],
    [
      'iotedgedev output',
      () => manifestsFixture('iotedgedev-deployment.amd64.json'),
      'deployment',
      ['SampleModule', 'SimulatedTemperatureSensor'],
    ],
    [
      'an IoT Hub configuration',
      () => manifestsFixture('iothub-configuration.json'),
      'configuration',
      ['SampleModule', 'SimulatedTemperatureSensor'],
    ],
    [
      'the $edgeAgent module twin',
      () => manifestsFixture('edgeagent-module-twin.json'),
      'edgeAgentTwin',
      ['scoring'],
    ],
    [
      'a portal export with edgeHub 1.0',
      () => manifestsFixture('portal-edgehub-1.0.json'),
      'deployment',
      ['tempSensor'],
    ],
  ])('accepts %s', (_name, load, shape, modules) => {
    const report = checkManifest(load(), validator);
    expect(report.issues).toEqual([]);
    expect(report.shape).toBe(shape);
    expect(report.modules.map((m) => m.name)).toEqual(modules);
  });

  it('refuses a deployment template (createOptions as objects, $schema-template) as not deployable', () => {
    expect(keys(manifestsFixture('iotedgedev-deployment.template.json'))).toContain(
      '$.$schema-template (additionalProperties)',
    );
  });

  it('refuses createOptions values Docker would refuse, at their path in the manifest', () => {
    const json = exampleJson('az-set-modules.deployment.json');
    agentModules(json).scoring.settings = {
      image: 'localhost:5000/regression10:1',
      createOptions: JSON.stringify({
        HostConfig: { Memory: '1g', PortBindings: { '5001/tcp': [{ HostPort: 5001 }] } },
      }),
    };
    expect(keys(json)).toEqual([
      "$.modulesContent.$edgeAgent['properties.desired'].modules.scoring.settings.createOptions.HostConfig.Memory (create-options-value)",
      "$.modulesContent.$edgeAgent['properties.desired'].modules.scoring.settings.createOptions.HostConfig.PortBindings['5001/tcp'][0].HostPort (create-options-value)",
    ]);
  });

  it('reports schema and semantic problems together in one ManifestError', () => {
    const json = exampleJson('az-set-modules.deployment.json');
    agentModules(json).scoring.restartPolicy = 'sometimes';
    agentModules(json).scoring.settings.createOptions = '{"HostConfig": ';
    const e = errorOf(() => assertValidManifest(json, validator, 'manifest x.json'));
    expect(e.code).toBe('MANIFEST_INVALID');
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain('invalid manifest x.json');
    expect(issueKeys(e)).toEqual(
      expect.arrayContaining([
        "$.modulesContent.$edgeAgent['properties.desired'].modules.scoring.restartPolicy (enum)",
        "$.modulesContent.$edgeAgent['properties.desired'].modules.scoring.settings.createOptions (create-options-json)",
      ]),
    );
  });

  it("refuses a manifest over IoT Hub's twin size limit", () => {
    const json = exampleJson('az-set-modules.deployment.json');
    for (let i = 0; i < 40; i++) agentModules(json).scoring.env[`BIG_${i}`] = { value: 'x'.repeat(1000) };
    expect(keys(json)).toContain("$.modulesContent.$edgeAgent['properties.desired'] (twin-size)");
  });
});

describe('layered deployments', () => {
  const layered = () =>
    toLayeredContent(exampleJson('az-set-modules.deployment.json')['modulesContent'] as ModulesContentWire)
      .modulesContent;

  it('makes module, route, credential and twin paths from a whole manifest', () => {
    const content = layered();
    expect(Object.keys(content['$edgeAgent'] ?? {}).sort()).toEqual([
      'properties.desired.modules.scoring',
      'properties.desired.runtime.settings.registryCredentials.local',
    ]);
    expect(Object.keys(content['$edgeHub'] ?? {})).toEqual([
      'properties.desired.routes.scoringToUpstream',
      'properties.desired.routes.collectToUpstream',
    ]);
    expect(content['scoring']).toEqual({
      'properties.desired.collect': { rate: 0.1, fields: { customerId: 'hash' } },
    });
    expect(isLayeredContent(content)).toBe(true);
  });

  it('accepts its own layered content, and a layered deployment another tool wrote', () => {
    const report = checkManifest({ content: { modulesContent: layered() } }, validator);
    expect(report.issues).toEqual([]);
    expect(report.shape).toBe('layered');
    expect(report.modules).toEqual([{ name: 'scoring', image: 'localhost:5000/regression10:1' }]);
    const docsExample = {
      modulesContent: {
        $edgeAgent: {
          'properties.desired.modules.SimulatedTemperatureSensor': {
            settings: {
              image: 'mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.0',
              createOptions: '',
            },
            type: 'docker',
            status: 'running',
            restartPolicy: 'always',
            version: '1.0',
          },
        },
        $edgeHub: { 'properties.desired.routes.upstream': 'FROM /messages/* INTO $upstream' },
        SimulatedTemperatureSensor: { 'properties.desired': { SendData: true, SendInterval: 5 } },
      },
    };
    expect(checkManifest(docsExample, validator).issues).toEqual([]);
  });

  it('refuses what a layer cannot set, and a bad module, at its layered path', () => {
    const content = layered();
    const agent = content['$edgeAgent'] as Record<string, unknown>;
    agent['properties.desired.systemModules.edgeHub'] = { type: 'docker' };
    (agent['properties.desired.modules.scoring'] as Record<string, unknown>)['restartPolicy'] = 'sometimes';
    (content['$edgeHub'] as Record<string, unknown>)['properties.desired.routes.bad'] = {
      route: 'FROM /* INTO $upstream',
      priority: 12,
    };
    (content['$edgeHub'] as Record<string, unknown>)[
      'properties.desired.storeAndForwardConfiguration.timeToLiveSecs'
    ] = 10;
    expect(keys({ modulesContent: content })).toEqual([
      "$.modulesContent.$edgeAgent['properties.desired.modules.scoring'].restartPolicy (enum)",
      "$.modulesContent.$edgeAgent['properties.desired.systemModules.edgeHub'] (layered-path)",
      "$.modulesContent.$edgeHub['properties.desired.routes.bad'].priority (route)",
      "$.modulesContent.$edgeHub['properties.desired.storeAndForwardConfiguration.timeToLiveSecs'] (layered-path)",
    ]);
  });

  it('refuses incomplete registry credentials in a layer', () => {
    const content = {
      $edgeAgent: {
        'properties.desired.runtime.settings.registryCredentials.acr': {
          address: 'x.azurecr.io',
          username: 'u',
        },
      },
    };
    expect(keys({ modulesContent: content })).toEqual([
      "$.modulesContent.$edgeAgent['properties.desired.runtime.settings.registryCredentials.acr'].password (required)",
    ]);
  });

  it('names what the base deployment keeps when a manifest with custom system settings becomes a layer', () => {
    const json = exampleJson('az-set-modules.deployment.json');
    // biome-ignore lint/suspicious/noExplicitAny: reaching into the example
    const mc = json['modulesContent'] as any;
    mc.$edgeHub['properties.desired'].storeAndForwardConfiguration = { timeToLiveSecs: 60 };
    mc.$edgeAgent['properties.desired'].systemModules.edgeHub.settings.image =
      'mcr.microsoft.com/azureiotedge-hub:1.4';
    expect(toLayeredContent(mc).leftOut).toEqual(['systemModules.edgeHub', 'storeAndForwardConfiguration']);
  });
});

describe('maskSecrets', () => {
  it('masks passwords in whole and layered manifests and leaves everything else', () => {
    const whole = exampleJson('az-set-modules.deployment.json');
    const masked = maskSecrets(whole);
    const credentials = (m: typeof whole) =>
      // biome-ignore lint/suspicious/noExplicitAny: reaching into the example
      (m as any).modulesContent.$edgeAgent['properties.desired'].runtime.settings.registryCredentials.local;
    expect(credentials(masked)).toEqual({ username: 'edge', password: '***', address: 'localhost:5000' });
    expect(credentials(whole).password).toBe('example-not-a-secret');
    const layer = maskSecrets({ content: { modulesContent: layered() } });
    expect(JSON.stringify(layer)).not.toContain('example-not-a-secret');
  });

  function layered() {
    return toLayeredContent(
      exampleJson('az-set-modules.deployment.json')['modulesContent'] as ModulesContentWire,
    ).modulesContent;
  }
});
