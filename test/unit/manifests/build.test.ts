import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildDeployment,
  DEFAULT_EDGE_AGENT_IMAGE,
  DEFAULT_EDGE_HUB_IMAGE,
  type DeploymentInput,
  deploymentFromInput,
  formatIssue,
  IMAGE_PULL_POLICIES,
  MODULE_STATUSES,
  moduleNameProblem,
  OfficialSchemaValidator,
  parseDeployment,
  RESTART_POLICIES,
  toDeploymentManifest,
} from '../../../manifests/index.js';
import { AGENT, issueKeys, manifestErrorOf } from './helpers.js';

const validator = new OfficialSchemaValidator();

const moduleName = fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9_-]{1,15}$/).filter((n) => !moduleNameProblem(n));
const identifier = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,11}$/);
const image = fc
  .tuple(
    fc.constantFrom('', 'localhost:5000/', 'mcr.microsoft.com/azureiotedge-'),
    fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/),
    fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,9}$/),
  )
  .map(([registry, name, tag]) => `${registry}${name}:${tag}`);
const createOptions = fc.record(
  {
    Env: fc.array(fc.string({ maxLength: 30 }), { maxLength: 6 }),
    Cmd: fc.array(fc.string({ maxLength: 20 }), { maxLength: 4 }),
    Labels: fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 40 }), {
      maxKeys: 4,
    }),
    HostConfig: fc.record(
      {
        Memory: fc.nat(),
        Privileged: fc.boolean(),
        Binds: fc.array(fc.string({ maxLength: 40 }), { maxLength: 4 }),
        PortBindings: fc.dictionary(
          fc.integer({ min: 1, max: 65535 }).map((p) => `${p}/tcp`),
          fc.array(fc.record({ HostPort: fc.integer({ min: 1, max: 65535 }).map(String) }), { maxLength: 2 }),
          { maxKeys: 3 },
        ),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);
const env = fc.dictionary(identifier, fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.boolean()), {
  maxKeys: 5,
});
const moduleInput = fc.record(
  {
    image,
    createOptions,
    env,
    version: fc.stringMatching(/^[0-9]{1,2}\.[0-9]{1,2}$/),
    status: fc.constantFrom(...MODULE_STATUSES),
    restartPolicy: fc.constantFrom(...RESTART_POLICIES),
    startupOrder: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.constant(4294967295)),
    imagePullPolicy: fc.constantFrom(...IMAGE_PULL_POLICIES),
  },
  { requiredKeys: ['image'] },
);
const route = fc.oneof(
  fc.constantFrom(
    'FROM /messages/* INTO $upstream',
    'FROM /messages/modules/a/outputs/* INTO BrokeredEndpoint("/modules/b/inputs/in")',
  ),
  fc.record(
    {
      route: fc.constant('FROM /messages/modules/scoring/outputs/* INTO $upstream'),
      priority: fc.integer({ min: 0, max: 9 }),
      timeToLiveSecs: fc.integer({ min: 0, max: 4294967295 }),
    },
    { requiredKeys: ['route'] },
  ),
);
const deploymentInput: fc.Arbitrary<DeploymentInput> = fc.record(
  {
    modules: fc.dictionary(moduleName, moduleInput, { minKeys: 0, maxKeys: 4 }),
    routes: fc.dictionary(identifier, route, { maxKeys: 4 }),
    storeAndForwardTimeToLiveSecs: fc.integer({ min: 0, max: 100000 }),
    registryCredentials: fc.dictionary(
      identifier,
      fc.record({
        address: fc.constantFrom('localhost:5000', 'myacr.azurecr.io'),
        username: identifier,
        password: fc.string({ maxLength: 30 }),
      }),
      { maxKeys: 2 },
    ),
    edgeAgent: fc.record({ image, env }, { requiredKeys: [] }),
    edgeHub: fc.record(
      { image, createOptions, startupOrder: fc.integer({ min: 0, max: 3 }) },
      { requiredKeys: [] },
    ),
    moduleTwins: fc.dictionary(
      moduleName,
      fc.dictionary(identifier, fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.boolean()), {
        maxKeys: 4,
      }),
      { maxKeys: 2 },
    ),
  },
  { requiredKeys: ['modules'] },
);

describe('buildDeployment / toDeploymentManifest', () => {
  it('fills IoT Edge defaults and produces a manifest the official schema accepts', () => {
    const manifest = buildDeployment(
      { modules: { scoring: { image: 'localhost:5000/regression10:1' } } },
      validator,
    );
    const desired = manifest.modulesContent.$edgeAgent['properties.desired'];
    expect(desired.schemaVersion).toBe('1.1');
    expect(desired.systemModules.edgeAgent.settings.image).toBe(DEFAULT_EDGE_AGENT_IMAGE);
    expect(desired.systemModules.edgeHub.settings.image).toBe(DEFAULT_EDGE_HUB_IMAGE);
    expect(desired.modules['scoring']).toEqual({
      type: 'docker',
      status: 'running',
      restartPolicy: 'always',
      settings: { image: 'localhost:5000/regression10:1', createOptions: '{}' },
    });
    expect(manifest.modulesContent.$edgeHub['properties.desired']).toEqual({
      schemaVersion: '1.2',
      routes: {},
      storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
    });
    expect(validator.validate(manifest)).toEqual([]);
  });

  it('chunks large createOptions, writes env as {value} and routes with priority as objects', () => {
    const big = { Env: Array.from({ length: 40 }, (_, i) => `VARIABLE_${i}=value-${i}`) };
    const manifest = buildDeployment(
      {
        modules: {
          scoring: { image: 'localhost:5000/s:1', createOptions: big, env: { WORKERS: 2, DEBUG: false } },
        },
        routes: {
          up: 'FROM /messages/* INTO $upstream',
          hot: { route: 'FROM /messages/* INTO $upstream', priority: 0 },
        },
      },
      validator,
    );
    const scoring = manifest.modulesContent.$edgeAgent['properties.desired'].modules['scoring'];
    expect(Object.keys(scoring?.settings ?? {})).toEqual(['image', 'createOptions', 'createOptions01']);
    expect(scoring?.env).toEqual({ WORKERS: { value: '2' }, DEBUG: { value: 'false' } });
    expect(manifest.modulesContent.$edgeHub['properties.desired'].routes).toEqual({
      up: 'FROM /messages/* INTO $upstream',
      hot: { route: 'FROM /messages/* INTO $upstream', priority: 0 },
    });
    expect(parseDeployment(manifest).edgeAgent.modules['scoring']?.settings.createOptions).toEqual(big);
  });

  it('property: every built manifest passes the official schema and parses back to what was built', () => {
    fc.assert(
      fc.property(deploymentInput, (input) => {
        const deployment = deploymentFromInput(input);
        const manifest = toDeploymentManifest(deployment);
        expect(validator.validate(manifest).map(formatIssue)).toEqual([]);
        expect(parseDeployment(manifest)).toEqual({ form: 'deployment', ...deployment });
        expect(buildDeployment(deployment, validator)).toEqual(manifest);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses to build what IoT Edge would refuse, naming the path', () => {
    const err = manifestErrorOf(() =>
      buildDeployment(
        {
          modules: { '-scoring': { image: 'localhost:5000/s:1' } },
          routes: { 'a.b': 'FROM /* INTO $upstream' },
        },
        validator,
      ),
    );
    expect(issueKeys(err.issues)).toEqual([
      `${AGENT}.modules['-scoring'] (module-name)`,
      "$.modulesContent.$edgeHub['properties.desired'].routes['a.b'] (additionalProperties)",
      "$.modulesContent.$edgeHub['properties.desired'].routes['a.b'] (twin-key)",
    ]);
  });

  it('throws create-options-size when createOptions do not fit in 8 chunks', () => {
    const err = manifestErrorOf(() =>
      buildDeployment(
        { modules: { big: { image: 'b:1', createOptions: { Env: ['X='.padEnd(5000, 'x')] } } } },
        validator,
      ),
    );
    expect(issueKeys(err.issues)).toEqual([
      `${AGENT}.modules.big.settings.createOptions (create-options-size)`,
    ]);
  });
});
