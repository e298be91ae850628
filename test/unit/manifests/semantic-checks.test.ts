import { describe, expect, it } from 'vitest';
import { moduleNameProblem, parseDeployment, validateDeployment } from '../../../manifests/index.js';
import {
  AGENT,
  AGENT_SEGMENTS,
  at,
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

const SETTINGS = [...SCORING, 'settings'];
const S = `${AGENT}.modules.scoring`;

type Mutation = (doc: Record<string, unknown>) => void;

/** Replaces the scoring module's chunked createOptions with one text. */
const createOptionsText =
  (text: string): Mutation =>
  (doc) => {
    change(doc, [...SETTINGS, 'createOptions01'], REMOVE);
    change(doc, [...SETTINGS, 'createOptions'], text);
  };

/** Renames a module inside `modules`, keeping its definition. */
const renameModule =
  (to: string): Mutation =>
  (doc) => {
    const modules = at(doc, [...AGENT_SEGMENTS, 'modules']);
    modules[to] = modules['scoring'];
    delete modules['scoring'];
  };

/** A module twin whose desired properties exceed 32 KB as IoT Hub counts them (100 × (3 + 400) bytes). */
const bigTwin: Mutation = (doc) => {
  const desired: Record<string, string> = {};
  for (let i = 0; i < 100; i++) desired[`k${String(i).padStart(2, '0')}`] = 'v'.repeat(400);
  change(doc, ['modulesContent', 'scoring', 'properties.desired'], desired);
};

// Each case: a mutation of a valid deployment, the one issue it must produce, and words of its message.
const cases: [string, Mutation, string, string][] = [
  [
    'createOptions that are not a JSON object',
    createOptionsText('["--privileged"]'),
    `${S}.settings.createOptions (create-options-json)`,
    'must be a JSON object, not an array',
  ],
  [
    'chunks that do not parse when joined',
    (doc) => change(doc, [...SETTINGS, 'createOptions01'], '{"broken'),
    `${S}.settings.createOptions (create-options-json)`,
    'not valid JSON',
  ],
  [
    'a chunk gap (createOptions02 without createOptions01)',
    (doc) => {
      const s = at(doc, SETTINGS);
      s['createOptions02'] = s['createOptions01'];
      delete s['createOptions01'];
    },
    `${S}.settings.createOptions01 (create-options-chunks)`,
    'expected createOptions01 before createOptions02',
  ],
  [
    'a create field in the wrong case',
    createOptionsText('{"hostconfig":{"Privileged":false}}'),
    `${S}.settings.createOptions.hostconfig (create-options-field)`,
    "use 'HostConfig'",
  ],
  [
    'an unknown HostConfig field',
    createOptionsText('{"HostConfig":{"PortBinding":{}}}'),
    `${S}.settings.createOptions.HostConfig.PortBinding (create-options-field)`,
    'not a Docker Engine HostConfig field',
  ],
  [
    'a module name Docker rejects (leading dash)',
    renameModule('-scoring'),
    `${AGENT}.modules['-scoring'] (module-name)`,
    'starting with a letter or digit',
  ],
  [
    'a one-character module name',
    renameModule('s'),
    `${AGENT}.modules.s (module-name)`,
    'at least 2 characters',
  ],
  [
    'a module named like a system module',
    renameModule('edgeHub'),
    `${AGENT}.modules.edgeHub (module-name)`,
    'reserved for the IoT Edge system module',
  ],
  [
    'a module name over 128 characters',
    renameModule('m'.repeat(129)),
    `${AGENT}.modules.${'m'.repeat(129)} (module-name)`,
    'at most 128 characters',
  ],
  [
    'an unknown restartPolicy',
    (doc) => change(doc, [...SCORING, 'restartPolicy'], 'sometimes'),
    `${S}.restartPolicy (enum)`,
    "'never', 'on-failure', 'on-unhealthy', 'always'",
  ],
  [
    'an unknown status',
    (doc) => change(doc, [...SCORING, 'status'], 'paused'),
    `${S}.status (enum)`,
    'got "paused"',
  ],
  [
    'an unknown imagePullPolicy',
    (doc) => change(doc, [...SCORING, 'imagePullPolicy'], 'always'),
    `${S}.imagePullPolicy (enum)`,
    "'on-create', 'never'",
  ],
  [
    'a negative startupOrder',
    (doc) => change(doc, [...SCORING, 'startupOrder'], -1),
    `${S}.startupOrder (minimum)`,
    '≥ 0',
  ],
  [
    'a startupOrder past uint32',
    (doc) => change(doc, [...SCORING, 'startupOrder'], 4294967296),
    `${S}.startupOrder (maximum)`,
    '≤ 4294967295',
  ],
  [
    'a fractional startupOrder',
    (doc) => change(doc, [...SCORING, 'startupOrder'], 1.5),
    `${S}.startupOrder (type)`,
    'integer',
  ],
  [
    'an env value not written as {value}',
    (doc) => change(doc, [...SCORING, 'env', 'LOG_LEVEL'], 'info'),
    `${S}.env.LOG_LEVEL (env-value)`,
    'env values are written as {"value"',
  ],
  [
    'an env value of the wrong type',
    (doc) => change(doc, [...SCORING, 'env', 'LOG_LEVEL'], { value: ['info'] }),
    `${S}.env.LOG_LEVEL (env-value)`,
    '{"value":["info"]}',
  ],
  [
    'an env name with a plus',
    (doc) => change(doc, [...SCORING, 'env', 'LOG+LEVEL'], { value: 'x' }),
    `${S}.env['LOG+LEVEL'] (additionalProperties)`,
    "may not contain '+', '#', '$', '.'",
  ],
  [
    'a module twin over 32 KB',
    bigTwin,
    "$.modulesContent.scoring['properties.desired'] (twin-size)",
    'at most 32768',
  ],
  [
    'a property value over 4 KB',
    (doc) => change(doc, [...SCORING, 'env', 'LOG_LEVEL'], { value: 'x'.repeat(4097) }),
    `${S}.env.LOG_LEVEL.value (twin-value-size)`,
    'at most 4096 per property value',
  ],
  [
    'a route with priority 10',
    (doc) => change(doc, [...HUB_SEGMENTS, 'routes', 'scoringToUpstream', 'priority'], 10),
    `${HUB}.routes.scoringToUpstream.priority (maximum)`,
    '≤ 9',
  ],
  [
    'a route that is neither string nor object',
    (doc) => change(doc, [...HUB_SEGMENTS, 'routes', 'collectToUpstream'], 42),
    `${HUB}.routes.collectToUpstream (anyOf)`,
    'a route is a string or an object',
  ],
  [
    'an unsupported $edgeAgent schemaVersion',
    (doc) => change(doc, [...AGENT_SEGMENTS, 'schemaVersion'], '2.0'),
    `${AGENT}.schemaVersion (schema-version)`,
    'must be one of 1.0, 1.1',
  ],
  [
    'a registry address with a space',
    (doc) =>
      change(
        doc,
        [...AGENT_SEGMENTS, 'runtime', 'settings', 'registryCredentials', 'local', 'address'],
        'local host',
      ),
    `${AGENT}.runtime.settings.registryCredentials.local.address (pattern)`,
    'no whitespace',
  ],
  [
    'an image with a space',
    (doc) => change(doc, [...SETTINGS, 'image'], 'localhost:5000/regression 10:1'),
    `${S}.settings.image (image)`,
    'not an image reference',
  ],
  [
    'a missing image',
    (doc) => change(doc, [...SETTINGS, 'image'], REMOVE),
    `${S}.settings.image (required)`,
    'required property missing',
  ],
];

describe('semantic checks: each problem is named by its path and rule', () => {
  it.each(cases)('%s', (_what, mutate, key, words) => {
    const doc = azExample();
    mutate(doc);
    const err = manifestErrorOf(() => parseDeployment(doc));
    expect(issueKeys(err.issues)).toEqual([key]);
    expect(err.issues[0]?.message).toContain(words);
    expect(err.message).toContain(`(rule: ${key.slice(key.lastIndexOf('(') + 1, -1)})`);
  });

  it('the unmutated example passes every check', () => {
    expect(() => validateDeployment(azExample())).not.toThrow();
  });

  it('a dot in a twin key breaks both the env-name rule and IoT Hub’s key rule', () => {
    const doc = change(azExample(), [...SCORING, 'env', 'log.level'], { value: 'x' });
    expect(issueKeys(manifestErrorOf(() => parseDeployment(doc)).issues)).toEqual([
      `${S}.env['log.level'] (additionalProperties)`,
      `${S}.env['log.level'] (twin-key)`,
    ]);
  });

  it('object routes in $edgeHub schemaVersion 1.0 are refused (route-form)', () => {
    const doc = fixture('portal-edgehub-1.0.json');
    change(doc, [...HUB_SEGMENTS, 'routes', 'route'], { route: 'FROM /* INTO $upstream', priority: 1 });
    expect(issueKeys(manifestErrorOf(() => parseDeployment(doc)).issues)).toEqual([
      `${HUB}.routes.route (route-form)`,
    ]);
  });

  it('startupOrder needs $edgeAgent schemaVersion 1.1', () => {
    const doc = fixture('portal-edgehub-1.0.json');
    change(doc, [...AGENT_SEGMENTS, 'modules', 'tempSensor', 'startupOrder'], 1);
    expect(issueKeys(manifestErrorOf(() => parseDeployment(doc)).issues)).toEqual([
      `${AGENT}.modules.tempSensor.startupOrder (schema-version)`,
    ]);
  });

  it('a twin of exactly 32768 bytes passes and one byte more fails', () => {
    // {"k": "v…"}: 1 byte of key + n bytes of value.
    const twin = (n: number) =>
      change(azExample(), ['modulesContent', 'scoring', 'properties.desired'], twinOf(n));
    const twinOf = (n: number) => {
      const desired: Record<string, string> = {};
      let left = n;
      for (let i = 0; left > 0; i++) {
        const key = `k${i}`;
        const value = 'v'.repeat(Math.min(4000, left - key.length));
        desired[key] = value;
        left -= key.length + value.length;
      }
      return desired;
    };
    expect(() => parseDeployment(twin(32768))).not.toThrow();
    expect(issueKeys(manifestErrorOf(() => parseDeployment(twin(32769))).issues)).toEqual([
      "$.modulesContent.scoring['properties.desired'] (twin-size)",
    ]);
  });
});

describe('moduleNameProblem', () => {
  it.each(['scoring', 'SimulatedTemperatureSensor', 'a1', 'model_v2', 'x-y'])('accepts %s', (name) => {
    expect(moduleNameProblem(name)).toBeUndefined();
  });

  it.each(['_private', 'a', 'has space', 'dotted.name', 'EdgeAgent', 'edgehub', 'ümlaut'])(
    'refuses %s',
    (name) => {
      expect(moduleNameProblem(name)).toMatch(/module|reserved/);
    },
  );
});
