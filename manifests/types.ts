/**
 * Types of the IoT Edge deployment manifest, the one contract between cloud and device.
 *
 * Two shapes live here:
 * - the wire shape (`DeploymentManifest`, `*Wire`): what IoT Hub, `az iot edge set-modules` and the
 *   official JSON schema (manifests/schemas/azure-iot-edge-deployment-2.0.json) know: createOptions as
 *   chunked strings, env values as `{value}`, routes as strings or objects;
 * - the normalized shape (`Deployment`, `EdgeAgentDesired`, …): what code works with: createOptions as
 *   one object, env as a plain record, routes as a list, defaults filled in.
 */

// ---------------------------------------------------------------- shared enums

export const MODULE_STATUSES = ['running', 'stopped'] as const;
export type ModuleStatus = (typeof MODULE_STATUSES)[number];

export const RESTART_POLICIES = ['never', 'on-failure', 'on-unhealthy', 'always'] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

export const IMAGE_PULL_POLICIES = ['on-create', 'never'] as const;
export type ImagePullPolicy = (typeof IMAGE_PULL_POLICIES)[number];

export const EDGE_AGENT_SCHEMA_VERSIONS = ['1.0', '1.1'] as const;
export const EDGE_HUB_SCHEMA_VERSIONS = ['1.0', '1.1', '1.2'] as const;

/** IoT Edge's default startupOrder: modules without one start last (uint32 max). */
export const DEFAULT_STARTUP_ORDER = 4294967295;
export const MAX_STARTUP_ORDER = 4294967295;
/** edgeHub's default store-and-forward time to live, in seconds (2 hours). */
export const DEFAULT_STORE_AND_FORWARD_TTL_SECS = 7200;

/** A Docker Engine `POST /containers/create` body (ContainerConfig + HostConfig + NetworkingConfig). */
export type CreateOptions = Record<string, unknown>;

// ---------------------------------------------------------------- wire shape

export interface EnvValueWire {
  value: string | number | boolean;
}

/** `settings` of a module on the wire: `createOptions`, `createOptions01`, … hold one JSON text in ≤512-char chunks. */
export interface ModuleSettingsWire {
  image: string;
  createOptions?: string;
  [chunk: `createOptions${string}`]: string | undefined;
}

export interface EdgeModuleWire {
  version?: string;
  type: 'docker';
  status: ModuleStatus;
  restartPolicy: RestartPolicy;
  startupOrder?: number;
  imagePullPolicy?: ImagePullPolicy;
  env?: Record<string, EnvValueWire>;
  settings: ModuleSettingsWire;
}

export interface EdgeAgentSystemModuleWire {
  type: 'docker';
  imagePullPolicy?: ImagePullPolicy;
  env?: Record<string, EnvValueWire>;
  settings: ModuleSettingsWire;
}

export type EdgeHubSystemModuleWire = Omit<EdgeModuleWire, 'version'>;

export interface RegistryCredentialWire {
  username: string;
  password: string;
  address: string;
}

// Type aliases (not interfaces) so they fit ModulesContentWire's index signature.
export type EdgeAgentDesiredWire = {
  schemaVersion: string;
  runtime: {
    type: 'docker';
    settings: {
      minDockerVersion?: string;
      loggingOptions?: string;
      registryCredentials?: Record<string, RegistryCredentialWire>;
    };
  };
  systemModules: { edgeAgent: EdgeAgentSystemModuleWire; edgeHub: EdgeHubSystemModuleWire };
  modules: Record<string, EdgeModuleWire>;
};

export interface RouteObjectWire {
  route: string;
  priority?: number;
  timeToLiveSecs?: number;
}

export type EdgeHubDesiredWire = {
  schemaVersion: string;
  /** Strings (schemaVersion 1.0 and later) or objects with priority and TTL (1.1 and later). */
  routes: Record<string, string | RouteObjectWire>;
  storeAndForwardConfiguration?: { timeToLiveSecs: number };
  /** edgeHub 1.2 MQTT broker settings, passed through unchanged. */
  mqttBroker?: Record<string, unknown>;
};

export interface ModulesContentWire {
  $edgeAgent: { 'properties.desired': EdgeAgentDesiredWire };
  $edgeHub: { 'properties.desired': EdgeHubDesiredWire };
  [moduleTwin: string]: { 'properties.desired': Record<string, unknown> };
}

/** A whole deployment as `az iot edge set-modules --content` and VS Code read and write it. */
export interface DeploymentManifest {
  modulesContent: ModulesContentWire;
}

// ---------------------------------------------------------------- normalized shape

export interface ModuleSettings {
  image: string;
  /** The createOptions chunks joined and parsed; `{}` when none were given. */
  createOptions: CreateOptions;
}

export interface EdgeModule {
  version?: string;
  type: 'docker';
  status: ModuleStatus;
  restartPolicy: RestartPolicy;
  /** Default DEFAULT_STARTUP_ORDER (start last). */
  startupOrder: number;
  /** Default `on-create`. */
  imagePullPolicy: ImagePullPolicy;
  /** Env values as the container sees them (numbers and booleans turned into strings). */
  env: Record<string, string>;
  settings: ModuleSettings;
}

export interface EdgeAgentSystemModule {
  type: 'docker';
  imagePullPolicy: ImagePullPolicy;
  env: Record<string, string>;
  settings: ModuleSettings;
}

export type EdgeHubSystemModule = Omit<EdgeModule, 'version'>;

export interface RegistryCredential {
  address: string;
  username: string;
  password: string;
}

export interface EdgeAgentDesired {
  schemaVersion: string;
  runtime: {
    type: 'docker';
    settings: {
      minDockerVersion?: string;
      loggingOptions?: string;
      registryCredentials: Record<string, RegistryCredential>;
    };
  };
  systemModules: { edgeAgent: EdgeAgentSystemModule; edgeHub: EdgeHubSystemModule };
  modules: Record<string, EdgeModule>;
}

export interface Route {
  name: string;
  /** The route text, kept as written (`FROM /messages/* INTO $upstream`); parsing it is the hub's job. */
  route: string;
  priority?: number;
  timeToLiveSecs?: number;
}

export interface EdgeHubDesired {
  schemaVersion: string;
  /** In document order. */
  routes: Route[];
  /** Default `{timeToLiveSecs: DEFAULT_STORE_AND_FORWARD_TTL_SECS}`. */
  storeAndForwardConfiguration: { timeToLiveSecs: number };
  mqttBroker?: Record<string, unknown>;
}

/** Desired properties of a custom module's twin (`modulesContent.<module>['properties.desired']`). */
export type ModuleTwinDesired = Record<string, unknown>;

/** A whole deployment, normalized: what buildDeployment takes and parseDeployment returns for whole deployments. */
export interface Deployment {
  edgeAgent: EdgeAgentDesired;
  edgeHub: EdgeHubDesired;
  moduleTwins: Record<string, ModuleTwinDesired>;
}

/** Which of the accepted input shapes a document had. */
export type DeploymentForm =
  /** `{modulesContent: {...}}` — az iot edge set-modules, VS Code, iotedgedev output. */
  | 'deployment'
  /** `{id?, content: {modulesContent: {...}}, targetCondition?, ...}` — an IoT Hub configuration. */
  | 'configuration'
  /** The `$edgeAgent` desired properties alone, as a module twin delivers them (maybe under `properties.desired`). */
  | 'edgeAgentTwin';

export interface ParsedDeployment {
  form: DeploymentForm;
  edgeAgent: EdgeAgentDesired;
  /** Absent for the `edgeAgentTwin` form, which carries only the `$edgeAgent` part. */
  edgeHub?: EdgeHubDesired;
  moduleTwins: Record<string, ModuleTwinDesired>;
}
