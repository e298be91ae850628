import { describe, expect, it } from 'vitest';
import { ModelportError } from '../../../common/errors.js';
import {
  DEFAULT_STARTUP_ORDER,
  parseDeployment,
  parseEdgeAgentDesired,
  parseEdgeHubDesired,
} from '../../../manifests/index.js';
import {
  AGENT,
  AGENT_SEGMENTS,
  at,
  azExample,
  change,
  fixture,
  HUB_SEGMENTS,
  issueKeys,
  manifestErrorOf,
  REMOVE,
  SCORING,
} from './helpers.js';

/** The createOptions the az example's scoring module holds in two chunks, written out independently. */
const SCORING_CREATE_OPTIONS = {
  Env: [
    'AZUREML_MODEL_DIR=/var/azureml-app/azureml-models/regression10/1',
    'MODELPORT_PORT=5001',
    'ORT_DISABLE_TELEMETRY=1',
  ],
  ExposedPorts: { '5001/tcp': {} },
  Labels: { 'com.example.team': 'forecasting', 'com.example.purpose': 'regression scoring at the edge' },
  Healthcheck: {
    Test: [
      'CMD',
      'node',
      '-e',
      "fetch('http://127.0.0.1:5001/').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))",
    ],
    Interval: 30000000000,
    Timeout: 5000000000,
    Retries: 3,
  },
  HostConfig: {
    PortBindings: { '5001/tcp': [{ HostPort: '5001' }] },
    Binds: ['/srv/modelport/collect:/var/modelport/collect', '/etc/ssl/certs:/etc/ssl/certs:ro'],
    NanoCpus: 1000000000,
    Memory: 536870912,
    LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
    RestartPolicy: { Name: 'no' },
  },
};

describe('parseDeployment: a whole deployment ({modulesContent}) as az iot edge set-modules takes it', () => {
  const parsed = parseDeployment(azExample());

  it('joins the chunked createOptions back into one object', () => {
    const settings = at(azExample(), [...SCORING, 'settings']);
    expect(Object.keys(settings)).toEqual(['image', 'createOptions', 'createOptions01']);
    expect(parsed.edgeAgent.modules['scoring']?.settings).toEqual({
      image: 'localhost:5000/regression10:1',
      createOptions: SCORING_CREATE_OPTIONS,
    });
  });

  it('normalizes modules: env as a plain record of strings, defaults filled in', () => {
    expect(parsed.form).toBe('deployment');
    const scoring = parsed.edgeAgent.modules['scoring'];
    expect(scoring).toMatchObject({
      version: '1.0',
      type: 'docker',
      status: 'running',
      restartPolicy: 'always',
      startupOrder: 1,
      imagePullPolicy: 'on-create',
      env: { LOG_LEVEL: 'info', MODELPORT_WORKERS: '2' },
    });
    expect(parsed.edgeAgent.systemModules.edgeAgent).toEqual({
      type: 'docker',
      imagePullPolicy: 'on-create',
      env: {},
      settings: { image: 'mcr.microsoft.com/azureiotedge-agent:1.5', createOptions: {} },
    });
    expect(parsed.edgeAgent.runtime.settings.registryCredentials).toEqual({
      local: { address: 'localhost:5000', username: 'edge', password: 'example-not-a-secret' },
    });
  });

  it('normalizes routes given as objects and as strings to {name, route, priority?, timeToLiveSecs?}', () => {
    expect(parsed.edgeHub?.routes).toEqual([
      {
        name: 'scoringToUpstream',
        route: 'FROM /messages/modules/scoring/outputs/* INTO $upstream',
        priority: 0,
        timeToLiveSecs: 86400,
      },
      { name: 'collectToUpstream', route: 'FROM /messages/modules/scoring/outputs/collect INTO $upstream' },
    ]);
    expect(parsed.edgeHub?.storeAndForwardConfiguration).toEqual({ timeToLiveSecs: 7200 });
  });

  it('keeps per-module desired properties', () => {
    expect(parsed.moduleTwins).toEqual({
      scoring: { collect: { rate: 0.1, fields: { customerId: 'hash' } } },
    });
  });
});

describe('parseDeployment: manifests written by other tools', () => {
  it('reads the IoT Edge dev tools output (SimulatedTemperatureSensor solution)', () => {
    const parsed = parseDeployment(fixture('iotedgedev-deployment.amd64.json'));
    expect(Object.keys(parsed.edgeAgent.modules)).toEqual(['SampleModule', 'SimulatedTemperatureSensor']);
    expect(parsed.edgeAgent.modules['SimulatedTemperatureSensor']?.startupOrder).toBe(DEFAULT_STARTUP_ORDER);
    expect(parsed.edgeAgent.systemModules.edgeHub.settings.createOptions).toEqual({
      HostConfig: {
        PortBindings: {
          '5671/tcp': [{ HostPort: '5671' }],
          '8883/tcp': [{ HostPort: '8883' }],
          '443/tcp': [{ HostPort: '443' }],
        },
      },
    });
    expect(parsed.edgeHub?.routes.map((r) => r.name)).toEqual([
      'SampleModuleToIoTHub',
      'sensorToSampleModule',
    ]);
  });

  it('reads the dev tools template itself ($schema-template, createOptions as objects)', () => {
    const parsed = parseDeployment(fixture('iotedgedev-deployment.template.json'));
    expect(parsed.edgeAgent.modules['SampleModule']?.settings).toEqual({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the dev tools' placeholder, kept literally
      image: '${MODULES.SampleModule}',
      createOptions: {},
    });
  });

  it('reads a schemaVersion 1.0 manifest with string routes and an empty createOptions', () => {
    const parsed = parseDeployment(fixture('portal-edgehub-1.0.json'));
    expect(parsed.edgeAgent.schemaVersion).toBe('1.0');
    expect(parsed.edgeAgent.systemModules.edgeAgent.settings.createOptions).toEqual({});
    expect(parsed.edgeAgent.systemModules.edgeHub.env).toEqual({ OptimizeForPerformance: 'false' });
    expect(parsed.edgeHub).toEqual({
      schemaVersion: '1.0',
      routes: [
        { name: 'route', route: 'FROM /* INTO $upstream' },
        {
          name: 'sensorToUpstream',
          route: 'FROM /messages/modules/tempSensor/outputs/temperatureOutput INTO $upstream',
        },
      ],
      storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
    });
    expect(parsed.moduleTwins).toEqual({ tempSensor: { SendData: true, SendInterval: 5 } });
  });

  it('accepts `moduleContent`, the older IoT Hub spelling', () => {
    const doc = fixture('iotedgedev-deployment.amd64.json');
    const parsed = parseDeployment({ moduleContent: doc['modulesContent'] });
    expect(parsed.edgeAgent).toEqual(parseDeployment(doc).edgeAgent);
  });
});

describe('parseDeployment: an IoT Hub configuration ({content: {modulesContent}})', () => {
  it('reads the content and ignores the configuration metadata', () => {
    const parsed = parseDeployment(fixture('iothub-configuration.json'));
    const direct = parseDeployment(fixture('iotedgedev-deployment.amd64.json'));
    expect(parsed.form).toBe('configuration');
    expect({ ...parsed, form: 'deployment' }).toEqual(direct);
  });

  it('names paths inside the configuration object', () => {
    const doc = fixture('iothub-configuration.json');
    const path = ['content', 'modulesContent', '$edgeAgent', 'properties.desired', 'modules', 'SampleModule'];
    change(doc, [...path, 'restartPolicy'], REMOVE);
    expect(issueKeys(manifestErrorOf(() => parseDeployment(doc)).issues)).toEqual([
      "$.content.modulesContent.$edgeAgent['properties.desired'].modules.SampleModule.restartPolicy (required)",
    ]);
  });
});

describe('parseDeployment: the $edgeAgent desired properties as a module twin delivers them', () => {
  it('ignores $version and $metadata and returns only the edgeAgent part', () => {
    const parsed = parseDeployment(fixture('edgeagent-module-twin.json'));
    expect(parsed.form).toBe('edgeAgentTwin');
    expect(parsed.edgeHub).toBeUndefined();
    expect(parsed.moduleTwins).toEqual({});
    expect(parsed.edgeAgent.modules['scoring']).toEqual({
      version: '1.0',
      type: 'docker',
      status: 'running',
      restartPolicy: 'on-unhealthy',
      startupOrder: 1,
      imagePullPolicy: 'on-create',
      env: { LOG_LEVEL: 'debug' },
      settings: {
        image: 'localhost:5000/regression10:1',
        createOptions: { HostConfig: { PortBindings: { '5001/tcp': [{ HostPort: '5001' }] } } },
      },
    });
  });

  it('accepts the twin document form {properties: {desired}} too', () => {
    const twin = fixture('edgeagent-module-twin.json');
    const parsed = parseDeployment({
      deviceId: 'd1',
      moduleId: '$edgeAgent',
      properties: { desired: twin, reported: {} },
    });
    expect(parsed.edgeAgent).toEqual(parseDeployment(twin).edgeAgent);
  });

  it('names paths from the twin root', () => {
    const twin = change(fixture('edgeagent-module-twin.json'), ['modules', 'scoring', 'status'], 'paused');
    const err = manifestErrorOf(() => parseDeployment(twin));
    expect(issueKeys(err.issues)).toEqual(['$.modules.scoring.status (enum)']);
    expect(err.message).toContain("must be one of 'running', 'stopped'");
  });

  it('parseEdgeAgentDesired and parseEdgeHubDesired read single twins', () => {
    expect(
      parseEdgeAgentDesired(fixture('edgeagent-module-twin.json')).modules['scoring']?.startupOrder,
    ).toBe(1);
    const hub = parseEdgeHubDesired({
      schemaVersion: '1.1',
      routes: { r1: { route: 'FROM /* INTO $upstream', priority: 3 } },
      $version: 4,
      $metadata: { $lastUpdated: '2026-10-30T09:12:44Z' },
    });
    expect(hub.routes).toEqual([{ name: 'r1', route: 'FROM /* INTO $upstream', priority: 3 }]);
    expect(hub.storeAndForwardConfiguration.timeToLiveSecs).toBe(7200);
  });
});

describe('parseDeployment: what it refuses', () => {
  it('throws a ManifestError: code MANIFEST_INVALID, exit 2, every issue in details.errors', () => {
    const doc = change(azExample(), [...SCORING, 'settings', 'image'], REMOVE);
    const err = manifestErrorOf(() => parseDeployment(doc));
    expect(err).toBeInstanceOf(ModelportError);
    expect(err.code).toBe('MANIFEST_INVALID');
    expect(err.exitCode).toBe(2);
    expect(err.httpStatus).toBe(400);
    expect(err.details?.['errors']).toEqual([
      {
        path: `${AGENT}.modules.scoring.settings.image`,
        rule: 'required',
        message: 'required property missing',
      },
    ]);
    expect(err.message).toBe(
      "invalid deployment manifest: $.modulesContent.$edgeAgent['properties.desired'].modules.scoring.settings.image: " +
        'required property missing (rule: required)',
    );
  });

  it.each([
    ['a string', 'not json', '$ (type)'],
    ['an array', [], '$ (type)'],
    ['an unknown shape', { hello: 'world' }, '$ (form)'],
    ['$edgeHub desired properties', { schemaVersion: '1.2', routes: {} }, '$ (form)'],
    [
      'a configuration without modulesContent',
      { content: { deviceContent: {} } },
      '$.content.modulesContent (required)',
    ],
  ])('refuses %s', (_what, input, key) => {
    expect(issueKeys(manifestErrorOf(() => parseDeployment(input)).issues)).toEqual([key]);
  });

  it('lists every problem at once, ordered by path', () => {
    const doc = azExample();
    change(doc, [...AGENT_SEGMENTS, 'systemModules', 'edgeHub'], REMOVE);
    change(doc, [...SCORING, 'status'], 'paused');
    change(doc, HUB_SEGMENTS.slice(0, 2), REMOVE);
    change(doc, ['extra'], 1);
    expect(issueKeys(manifestErrorOf(() => parseDeployment(doc)).issues)).toEqual([
      '$.extra (additionalProperties)',
      `${AGENT}.modules.scoring.status (enum)`,
      `${AGENT}.systemModules.edgeHub (required)`,
      '$.modulesContent.$edgeHub (required)',
    ]);
  });
});
