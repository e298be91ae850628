import { describe, expect, it } from 'vitest';
import {
  formatIssue,
  OfficialSchemaValidator,
  validateAgainstOfficialSchema,
  validateDeployment,
} from '../../../manifests/index.js';
import {
  AGENT,
  AGENT_SEGMENTS,
  azExample,
  change,
  fixture,
  HUB,
  HUB_SEGMENTS,
  issueKeys,
  manifestErrorOf,
  REMOVE,
  SCORING,
} from './helpers.js';

const validator = new OfficialSchemaValidator();

describe('official IoT Edge deployment schema (manifests/schemas, ajv-draft-04)', () => {
  it.each([
    ['the az-style example', () => azExample()],
    ['the IoT Edge dev tools output', () => fixture('iotedgedev-deployment.amd64.json')],
    ['a schemaVersion 1.0 manifest with string routes', () => fixture('portal-edgehub-1.0.json')],
    ['an IoT Hub configuration', () => fixture('iothub-configuration.json')],
    ['$edgeAgent module twin desired properties', () => fixture('edgeagent-module-twin.json')],
  ])('accepts %s', (_what, load) => {
    expect(validator.validate(load()).map(formatIssue)).toEqual([]);
  });

  it('judges the dev tools template for what it is: not a deployment (template key, createOptions objects)', () => {
    const issues = validator.validate(fixture('iotedgedev-deployment.template.json'));
    expect(issueKeys(issues)).toEqual([
      '$.$schema-template (additionalProperties)',
      `${AGENT}.modules.SampleModule.settings.createOptions (type)`,
      `${AGENT}.modules.SimulatedTemperatureSensor.settings.createOptions (type)`,
      `${AGENT}.systemModules.edgeAgent.settings.createOptions (type)`,
      `${AGENT}.systemModules.edgeHub.settings.createOptions (type)`,
    ]);
    expect(issues[1]?.message).toBe('must be string, not object');
  });

  it('names the missing property in the path of a `required` error', () => {
    const doc = change(azExample(), [...SCORING, 'settings', 'image'], REMOVE);
    expect(validateAgainstOfficialSchema(doc, validator)).toEqual([
      {
        path: `${AGENT}.modules.scoring.settings.image`,
        rule: 'required',
        message: 'required property missing',
      },
    ]);
  });

  it('reports enum, pattern, type and anyOf violations with their keyword as the rule', () => {
    const doc = azExample();
    change(doc, [...SCORING, 'restartPolicy'], 'sometimes');
    change(doc, [...SCORING, 'env', 'LOG_LEVEL'], { value: null });
    change(doc, [...AGENT_SEGMENTS, 'runtime', 'settings', 'registryCredentials', 'local', 'address'], 'a b');
    change(doc, [...HUB_SEGMENTS, 'routes', 'collectToUpstream'], {
      route: 'FROM /* INTO $upstream',
      weight: 1,
    });
    expect(issueKeys(validator.validate(doc))).toEqual([
      `${AGENT}.modules.scoring.env.LOG_LEVEL.value (type)`,
      `${AGENT}.modules.scoring.restartPolicy (enum)`,
      `${AGENT}.runtime.settings.registryCredentials.local.address (pattern)`,
      `${HUB}.routes.collectToUpstream (anyOf)`,
    ]);
  });

  it('checks the $edgeHub part against the 1.2 schema: mqttBroker is allowed there and judged', () => {
    const doc = change(azExample(), [...HUB_SEGMENTS, 'mqttBroker'], {
      authorizations: [{ identities: ['{{iot:identity}}'], allow: [{ operations: ['mqtt:connect'] }] }],
    });
    expect(validator.validate(doc)).toEqual([]);
    change(
      doc,
      [...HUB_SEGMENTS, 'mqttBroker', 'authorizations'],
      [{ allow: [{ operations: ['mqtt:jump'] }] }],
    );
    expect(issueKeys(validator.validate(doc))).toEqual([
      `${HUB}.mqttBroker.authorizations[0].allow[0].operations[0] (pattern)`,
    ]);
  });

  it('refuses mqttBroker under $edgeHub schemaVersion 1.1', () => {
    const doc = change(azExample(), [...HUB_SEGMENTS, 'schemaVersion'], '1.1');
    change(doc, [...HUB_SEGMENTS, 'mqttBroker'], {});
    expect(issueKeys(validator.validate(doc))).toEqual([`${HUB}.mqttBroker (additionalProperties)`]);
  });

  it('checks the $edgeAgent part against the 1.1 schema (schemaVersion pattern)', () => {
    const doc = change(azExample(), [...AGENT_SEGMENTS, 'schemaVersion'], '2.0');
    expect(issueKeys(validator.validate(doc))).toEqual([]);
    change(doc, [...AGENT_SEGMENTS, 'schemaVersion'], '1.1');
    change(doc, [...AGENT_SEGMENTS, 'modules', 'scoring', 'startupOrder'], '1');
    expect(issueKeys(validator.validate(doc))).toEqual([`${AGENT}.modules.scoring.startupOrder (type)`]);
  });

  it('anchors paths where the part sits: under $.content for a configuration, at $ for a twin', () => {
    const conf = fixture('iothub-configuration.json');
    change(conf, ['content', 'modulesContent', '$edgeHub', 'properties.desired', 'routes', 'bad route'], 'x');
    expect(issueKeys(validator.validate(conf))).toEqual([
      "$.content.modulesContent.$edgeHub['properties.desired'].routes['bad route'] (additionalProperties)",
    ]);
    const twin = change(fixture('edgeagent-module-twin.json'), ['modules', 'scoring', 'type'], 'rkt');
    expect(issueKeys(validator.validate(twin))).toEqual(['$.modules.scoring.type (enum)']);
  });

  it('validates anything that is not a deployment against the deployment schema', () => {
    expect(issueKeys(validator.validate({ hello: 1 }))).toEqual([
      '$.hello (additionalProperties)',
      '$.modulesContent (required)',
    ]);
  });
});

describe('validateDeployment: official schema plus semantic checks', () => {
  it('returns the normalized deployment when both pass', () => {
    const parsed = validateDeployment(fixture('iotedgedev-deployment.amd64.json'), validator);
    expect(parsed.edgeAgent.modules['SampleModule']?.settings.image).toBe(
      'localhost:5000/samplemodule:0.0.1-amd64',
    );
  });

  it('lists schema and semantic problems together in one ManifestError', () => {
    const doc = azExample();
    change(doc, [...SCORING, 'settings', 'createOptions'], '{"hostconfig":{}, "Env": [');
    change(doc, [...SCORING, 'settings', 'createOptions01'], '"A=1"]}');
    change(doc, [...SCORING, 'extra'], true);
    const err = manifestErrorOf(() => validateDeployment(doc, validator));
    expect(issueKeys(err.issues)).toEqual([
      `${AGENT}.modules.scoring.extra (additionalProperties)`,
      `${AGENT}.modules.scoring.settings.createOptions.hostconfig (create-options-field)`,
    ]);
    expect(err.code).toBe('MANIFEST_INVALID');
    expect(err.message).toMatch(/^invalid deployment manifest \(2 problems\):\n {2}- /);
  });

  it('refuses the dev tools template, which parseDeployment alone accepts', () => {
    const err = manifestErrorOf(() =>
      validateDeployment(fixture('iotedgedev-deployment.template.json'), validator),
    );
    expect(err.issues.map((i) => i.rule)).toEqual(['additionalProperties', 'type', 'type', 'type', 'type']);
  });
});
