/**
 * The deployment spec: what a person writes (YAML or JSON) to say what runs where. cloud/manifest turns
 * it, with the model registry, into an IoT Edge deployment manifest. One TypeBox schema gives both the
 * JSON Schema (for editors and validation) and the TypeScript type.
 */
import { type Static, Type } from '@sinclair/typebox';
import { IMAGE_PULL_POLICIES, MAX_STARTUP_ORDER, MODULE_STATUSES, RESTART_POLICIES } from './types.js';

const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));
const strict = { additionalProperties: false } as const;

/** `name:version` with a positive integer version, or `name:latest`. */
export const MODEL_REF_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]*:(latest|[1-9][0-9]*)$';
const NO_SPACE = '^\\S+$';

const Port = Type.Integer({ minimum: 1, maximum: 65535 });
const EnvMap = Type.Record(
  Type.String({ pattern: '^[^+#$\\s.=]+$' }),
  Type.Union([Type.String(), Type.Number(), Type.Boolean()]),
  {
    ...strict,
    description: 'Environment variables; numbers and booleans become strings.',
  },
);
const CreateOptions = Type.Object(
  {},
  { description: 'Extra Docker createOptions, merged into the generated ones.' },
);

export const ModuleSpecSchema = Type.Object(
  {
    models: Type.Optional(
      Type.Array(Type.String({ pattern: MODEL_REF_PATTERN }), {
        minItems: 1,
        uniqueItems: true,
        description: 'Registry models this module serves: "name:version" or "name:latest".',
      }),
    ),
    image: Type.Optional(
      Type.String({
        pattern: NO_SPACE,
        description: 'Image to run; without it, the packaged image of `models`.',
      }),
    ),
    env: Type.Optional(EnvMap),
    resources: Type.Optional(
      Type.Object(
        {
          cpu: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'CPU cores (NanoCpus).' })),
          memoryInGB: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Memory limit in GB.' })),
        },
        strict,
      ),
    ),
    ports: Type.Optional(
      Type.Array(Type.Union([Port, Type.Object({ container: Port, host: Port }, strict)]), {
        description: 'Published ports: a number (same on host and container) or {container, host}.',
      }),
    ),
    restartPolicy: Type.Optional(literals(RESTART_POLICIES)),
    startupOrder: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_STARTUP_ORDER })),
    status: Type.Optional(literals(MODULE_STATUSES)),
    imagePullPolicy: Type.Optional(literals(IMAGE_PULL_POLICIES)),
    executionProvider: Type.Optional(
      Type.Array(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_-]*$' }), {
        minItems: 1,
        uniqueItems: true,
        description: 'onnxruntime execution providers in order of preference, e.g. ["cuda", "cpu"].',
      }),
    ),
    collect: Type.Optional(
      Type.Object(
        {
          rate: Type.Optional(
            Type.Number({ minimum: 0, maximum: 1, description: 'Fraction of requests collected.' }),
          ),
          fields: Type.Optional(
            Type.Record(Type.String({ minLength: 1 }), literals(['keep', 'drop', 'hash'] as const), strict),
          ),
        },
        strict,
      ),
    ),
    createOptions: Type.Optional(CreateOptions),
  },
  strict,
);

const RouteSpec = Type.Union([
  Type.String({ minLength: 1 }),
  Type.Object(
    {
      route: Type.String({ minLength: 1 }),
      priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 9 })),
      timeToLiveSecs: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295 })),
    },
    strict,
  ),
]);

const RegistryCredentialSpec = Type.Object(
  {
    address: Type.String({ pattern: NO_SPACE }),
    usernameEnv: Type.String({
      pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
      description: 'Env var holding the user name.',
    }),
    passwordEnv: Type.String({
      pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
      description: 'Env var holding the password.',
    }),
  },
  strict,
);

const SystemModuleSpec = Type.Object(
  {
    image: Type.Optional(Type.String({ pattern: NO_SPACE })),
    env: Type.Optional(EnvMap),
    createOptions: Type.Optional(CreateOptions),
  },
  strict,
);

/**
 * How `modelport watch` (and `modelport model register --deploy-spec`) roll a new model version out;
 * the target itself (a manifest file, or IoT Hub and its connection string) is named on the command line.
 */
const RolloutSpec = Type.Object(
  {
    imageRepository: Type.Optional(
      Type.String({
        pattern: NO_SPACE,
        description:
          'Repository new module images are pushed to, e.g. myregistry.azurecr.io/scoring; the tag comes from the model versions (regression-v3).',
      }),
    ),
    platform: Type.Optional(literals(['linux/amd64', 'linux/arm64'] as const)),
    baseImage: Type.Optional(
      Type.String({ pattern: NO_SPACE, description: 'Node 20 base image for packaging.' }),
    ),
    gate: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Executable run before a new model version is deployed (path relative to the spec); exit 0 accepts it.',
      }),
    ),
    targetCondition: Type.Optional(
      Type.String({ minLength: 1, description: 'IoT Hub: the devices the at-scale deployment targets.' }),
    ),
    priority: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'IoT Hub: priority of the first rollout; each next one is higher.',
      }),
    ),
    layered: Type.Optional(Type.Boolean({ description: 'IoT Hub: roll out as layered deployments.' })),
    removePrevious: Type.Optional(
      Type.Boolean({ description: 'IoT Hub: delete the previous rollout once the new one is applied.' }),
    ),
  },
  strict,
);

export const DeploymentSpecSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' })),
    modules: Type.Record(Type.String(), ModuleSpecSchema, { minProperties: 1 }),
    routes: Type.Optional(Type.Record(Type.String({ pattern: '^[^.$# ]+$' }), RouteSpec, strict)),
    storeAndForward: Type.Optional(
      Type.Object({ timeToLiveSecs: Type.Integer({ minimum: 0, maximum: 4294967295 }) }, strict),
    ),
    registryCredentials: Type.Optional(
      Type.Record(Type.String({ pattern: '^[^.$# ]+$' }), RegistryCredentialSpec, strict),
    ),
    edgeAgent: Type.Optional(SystemModuleSpec),
    edgeHub: Type.Optional(SystemModuleSpec),
    rollout: Type.Optional(RolloutSpec),
  },
  { ...strict, title: 'modelport deployment spec' },
);

type StringEnv<T> = Omit<T, 'env'> & { env?: Record<string, string> };
type SystemModuleSpecInput = Static<typeof SystemModuleSpec>;
/** The spec's `rollout` section (continuous deployment settings). */
export type RolloutSettings = Static<typeof RolloutSpec>;
type DeploymentSpecInput = Static<typeof DeploymentSpecSchema>;

/** A module of a deployment spec as parseDeploymentSpec returns it (env values already strings). */
export type ModuleSpec = StringEnv<Static<typeof ModuleSpecSchema>>;
export type SystemModuleOverride = StringEnv<SystemModuleSpecInput>;
/** A deployment spec as parseDeploymentSpec returns it (env values already strings). */
export type DeploymentSpec = Omit<DeploymentSpecInput, 'modules' | 'edgeAgent' | 'edgeHub'> & {
  modules: Record<string, ModuleSpec>;
  edgeAgent?: SystemModuleOverride;
  edgeHub?: SystemModuleOverride;
};
