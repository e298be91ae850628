/**
 * Typed constructors for whole deployments: cloud/manifest describes what should run with
 * DeploymentInput (defaults filled in here) or a complete normalized Deployment, and gets the wire
 * manifest IoT Hub takes, with createOptions chunked as IoT Edge does and env values as `{value}`.
 */
import { chunkCreateOptions } from './create-options.js';
import { dedupeIssues, ManifestError } from './errors.js';
import { readDeployment } from './parse.js';
import { OfficialSchemaValidator } from './schema-validate.js';
import {
  type CreateOptions,
  DEFAULT_STARTUP_ORDER,
  DEFAULT_STORE_AND_FORWARD_TTL_SECS,
  type Deployment,
  type DeploymentManifest,
  type EdgeAgentDesiredWire,
  type EdgeHubDesiredWire,
  type EdgeModule,
  type EdgeModuleWire,
  type EnvValueWire,
  type ImagePullPolicy,
  type ModuleSettings,
  type ModuleSettingsWire,
  type ModuleStatus,
  type ModulesContentWire,
  type ModuleTwinDesired,
  type RegistryCredential,
  type RestartPolicy,
  type Route,
  type RouteObjectWire,
} from './types.js';

/** IoT Edge 1.5 LTS system module images, used when the input names none. */
export const DEFAULT_EDGE_AGENT_IMAGE = 'mcr.microsoft.com/azureiotedge-agent:1.5';
export const DEFAULT_EDGE_HUB_IMAGE = 'mcr.microsoft.com/azureiotedge-hub:1.5';
/** edgeHub's usual published ports: AMQPS 5671, MQTTS 8883, HTTPS 443 (as the IoT Edge tools write them). */
export const DEFAULT_EDGE_HUB_CREATE_OPTIONS: CreateOptions = {
  HostConfig: {
    PortBindings: {
      '5671/tcp': [{ HostPort: '5671' }],
      '8883/tcp': [{ HostPort: '8883' }],
      '443/tcp': [{ HostPort: '443' }],
    },
  },
};
export const EDGE_AGENT_SCHEMA_VERSION = '1.1';
export const EDGE_HUB_SCHEMA_VERSION = '1.2';

export interface ModuleInput {
  image: string;
  createOptions?: CreateOptions;
  env?: Record<string, string | number | boolean>;
  version?: string;
  /** Default `running`. */
  status?: ModuleStatus;
  /** Default `always`. */
  restartPolicy?: RestartPolicy;
  startupOrder?: number;
  imagePullPolicy?: ImagePullPolicy;
}

export interface SystemModuleInput {
  image?: string;
  createOptions?: CreateOptions;
  env?: Record<string, string | number | boolean>;
  imagePullPolicy?: ImagePullPolicy;
}

export interface DeploymentInput {
  modules: Record<string, ModuleInput>;
  /** Route name → route text, or {route, priority?, timeToLiveSecs?}. */
  routes?: Record<string, string | RouteObjectWire>;
  /** Default DEFAULT_STORE_AND_FORWARD_TTL_SECS. */
  storeAndForwardTimeToLiveSecs?: number;
  registryCredentials?: Record<string, RegistryCredential>;
  runtime?: { minDockerVersion?: string; loggingOptions?: string };
  edgeAgent?: SystemModuleInput;
  edgeHub?: SystemModuleInput & { startupOrder?: number };
  /** Desired properties for custom modules' twins. */
  moduleTwins?: Record<string, ModuleTwinDesired>;
}

const stringEnv = (env: ModuleInput['env']): Record<string, string> =>
  Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, String(v)]));

/** Fills IoT Edge's defaults into a DeploymentInput: the normalized Deployment it describes. */
export function deploymentFromInput(input: DeploymentInput): Deployment {
  const hub = input.edgeHub ?? {};
  const agent = input.edgeAgent ?? {};
  const modules: Record<string, EdgeModule> = {};
  for (const [name, m] of Object.entries(input.modules)) {
    modules[name] = {
      ...(m.version !== undefined && { version: m.version }),
      type: 'docker',
      status: m.status ?? 'running',
      restartPolicy: m.restartPolicy ?? 'always',
      startupOrder: m.startupOrder ?? DEFAULT_STARTUP_ORDER,
      imagePullPolicy: m.imagePullPolicy ?? 'on-create',
      env: stringEnv(m.env),
      settings: { image: m.image, createOptions: m.createOptions ?? {} },
    };
  }
  return {
    edgeAgent: {
      schemaVersion: EDGE_AGENT_SCHEMA_VERSION,
      runtime: {
        type: 'docker',
        settings: {
          minDockerVersion: input.runtime?.minDockerVersion ?? 'v1.25',
          ...(input.runtime?.loggingOptions !== undefined && {
            loggingOptions: input.runtime.loggingOptions,
          }),
          registryCredentials: input.registryCredentials ?? {},
        },
      },
      systemModules: {
        edgeAgent: {
          type: 'docker',
          imagePullPolicy: agent.imagePullPolicy ?? 'on-create',
          env: stringEnv(agent.env),
          settings: {
            image: agent.image ?? DEFAULT_EDGE_AGENT_IMAGE,
            createOptions: agent.createOptions ?? {},
          },
        },
        edgeHub: {
          type: 'docker',
          status: 'running',
          restartPolicy: 'always',
          startupOrder: hub.startupOrder ?? 0,
          imagePullPolicy: hub.imagePullPolicy ?? 'on-create',
          env: stringEnv(hub.env),
          settings: {
            image: hub.image ?? DEFAULT_EDGE_HUB_IMAGE,
            createOptions: hub.createOptions ?? DEFAULT_EDGE_HUB_CREATE_OPTIONS,
          },
        },
      },
      modules,
    },
    edgeHub: {
      schemaVersion: EDGE_HUB_SCHEMA_VERSION,
      routes: Object.entries(input.routes ?? {}).map(([name, r]) =>
        typeof r === 'string' ? { name, route: r } : { name, ...r },
      ),
      storeAndForwardConfiguration: {
        timeToLiveSecs: input.storeAndForwardTimeToLiveSecs ?? DEFAULT_STORE_AND_FORWARD_TTL_SECS,
      },
    },
    moduleTwins: input.moduleTwins ?? {},
  };
}

function envWire(env: Record<string, string>): { env?: Record<string, EnvValueWire> } {
  const entries = Object.entries(env);
  return entries.length === 0 ? {} : { env: Object.fromEntries(entries.map(([k, value]) => [k, { value }])) };
}

function settingsWire(s: ModuleSettings, path: string[]): ModuleSettingsWire {
  return { image: s.image, ...chunkCreateOptions(s.createOptions, [...path, 'createOptions']) };
}

function moduleWire(m: Omit<EdgeModule, 'version'> & { version?: string }, path: string[]): EdgeModuleWire {
  return {
    ...(m.version !== undefined && { version: m.version }),
    type: m.type,
    status: m.status,
    restartPolicy: m.restartPolicy,
    ...(m.startupOrder !== DEFAULT_STARTUP_ORDER && { startupOrder: m.startupOrder }),
    ...(m.imagePullPolicy !== 'on-create' && { imagePullPolicy: m.imagePullPolicy }),
    ...envWire(m.env),
    settings: settingsWire(m.settings, [...path, 'settings']),
  };
}

function routeWire(r: Route): string | RouteObjectWire {
  if (r.priority === undefined && r.timeToLiveSecs === undefined) return r.route;
  return {
    route: r.route,
    ...(r.priority !== undefined && { priority: r.priority }),
    ...(r.timeToLiveSecs !== undefined && { timeToLiveSecs: r.timeToLiveSecs }),
  };
}

/**
 * Serializes a normalized Deployment to the wire manifest (the inverse of parseDeployment): createOptions
 * chunked, env as `{value}`, routes as strings unless they carry priority or TTL; values equal to IoT
 * Edge's defaults (startupOrder, imagePullPolicy) are left out. Throws ManifestError when createOptions
 * are too large to chunk.
 */
export function toDeploymentManifest(d: Deployment): DeploymentManifest {
  const agentPath = ['modulesContent', '$edgeAgent', 'properties.desired'];
  const a = d.edgeAgent;
  const { registryCredentials, ...runtimeSettings } = a.runtime.settings;
  const edgeAgent: EdgeAgentDesiredWire = {
    schemaVersion: a.schemaVersion,
    runtime: {
      type: a.runtime.type,
      settings: {
        ...runtimeSettings,
        ...(Object.keys(registryCredentials).length > 0 && {
          registryCredentials: Object.fromEntries(
            Object.entries(registryCredentials).map(([k, c]) => [
              k,
              { username: c.username, password: c.password, address: c.address },
            ]),
          ),
        }),
      },
    },
    systemModules: {
      edgeAgent: {
        type: a.systemModules.edgeAgent.type,
        ...(a.systemModules.edgeAgent.imagePullPolicy !== 'on-create' && {
          imagePullPolicy: a.systemModules.edgeAgent.imagePullPolicy,
        }),
        ...envWire(a.systemModules.edgeAgent.env),
        settings: settingsWire(a.systemModules.edgeAgent.settings, [
          ...agentPath,
          'systemModules',
          'edgeAgent',
          'settings',
        ]),
      },
      edgeHub: moduleWire(a.systemModules.edgeHub, [...agentPath, 'systemModules', 'edgeHub']),
    },
    modules: Object.fromEntries(
      Object.entries(a.modules).map(([name, m]) => [name, moduleWire(m, [...agentPath, 'modules', name])]),
    ),
  };
  const h = d.edgeHub;
  const edgeHub: EdgeHubDesiredWire = {
    schemaVersion: h.schemaVersion,
    routes: Object.fromEntries(h.routes.map((r) => [r.name, routeWire(r)])),
    storeAndForwardConfiguration: { timeToLiveSecs: h.storeAndForwardConfiguration.timeToLiveSecs },
    ...(h.mqttBroker !== undefined && { mqttBroker: h.mqttBroker }),
  };
  const modulesContent: ModulesContentWire = {
    $edgeAgent: { 'properties.desired': edgeAgent },
    $edgeHub: { 'properties.desired': edgeHub },
  };
  for (const [name, desired] of Object.entries(d.moduleTwins))
    modulesContent[name] = { 'properties.desired': desired };
  return { modulesContent };
}

function isDeployment(x: DeploymentInput | Deployment): x is Deployment {
  return typeof (x as Partial<Deployment>).edgeAgent?.schemaVersion === 'string';
}

/**
 * Builds the wire manifest for `input` (a DeploymentInput with defaults to fill, or a complete
 * Deployment) and checks it like validateDeployment: official schema plus semantic checks. Throws
 * ManifestError naming every problem, so what it returns can be deployed as is.
 */
export function buildDeployment(
  input: DeploymentInput | Deployment,
  validator: OfficialSchemaValidator = new OfficialSchemaValidator(),
): DeploymentManifest {
  const deployment = isDeployment(input) ? input : deploymentFromInput(input);
  const manifest = toDeploymentManifest(deployment);
  const issues = dedupeIssues([...readDeployment(manifest).issues, ...validator.validate(manifest)]);
  if (issues.length > 0) throw new ManifestError(issues);
  return manifest;
}
