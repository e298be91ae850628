/**
 * The planner's vocabulary: desired modules, containers as Docker reports them, the context a pass
 * plans in, and the steps it emits. Everything here is plain data, so plans are testable without Docker.
 */
import type { CreateOptions, ImagePullPolicy, ModuleStatus, RestartPolicy } from '../../manifests/index.js';

/** A module as the agent runs it: the manifest's module plus what the agent itself adds. */
export interface DesiredModule {
  name: string;
  image: string;
  /** The manifest's createOptions, joined and parsed. */
  createOptions: CreateOptions;
  /** Manifest env, then env added by the module-environment provider (which wins on a clash). */
  env: Record<string, string>;
  /** Bind mounts added by the module-environment provider (`host:container[:ro]`). */
  binds: string[];
  /** The manifest's `version`, '' when absent. */
  version: string;
  status: ModuleStatus;
  restartPolicy: RestartPolicy;
  startupOrder: number;
  imagePullPolicy: ImagePullPolicy;
}

/** The parts of a module that define its container; a change to any of them recreates it. */
export interface SpecParts {
  image: string;
  /** Short hash of the env record. */
  env: string;
  /** Short hash of createOptions plus provider binds. */
  createOptions: string;
  version: string;
}

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
export type ContainerHealth = 'none' | 'starting' | 'healthy' | 'unhealthy';

/** One container the agent created, read back from Docker (list + inspect + labels). */
export interface CurrentContainer {
  id: string;
  /** The `modelport.module` label. */
  module: string;
  /** The `modelport.deployment` label: the desired version that created it. */
  deployment: string;
  specHash: string | undefined;
  specParts: SpecParts | undefined;
  /** The image reference the container was created from (Config.Image). */
  image: string;
  imageId: string;
  state: ContainerState;
  exitCode: number;
  /** ms since epoch; undefined when Docker reports its zero time (never started / never exited). */
  startedAt: number | undefined;
  finishedAt: number | undefined;
  createdAt: number;
  health: ContainerHealth;
  /** Why a failed container failed, from its last log lines (filled in by the runtime). */
  failureDetail?: string;
  /**
   * Start-first modules (start-first.ts): the port the container listens on behind the agent's proxy
   * (its `modelport.update.internal-port` label); undefined for a container that owns its port itself.
   */
  internalPort?: number;
  /** The agent's proxy sends the module's public port to this container (read from the proxy). */
  routed?: boolean;
}

/** Restart bookkeeping per module (persisted, so back-off survives an agent restart). */
export interface ModuleStats {
  restartCount: number;
  /** ms since epoch of the agent's last restart of the module. */
  lastRestartAt: number | undefined;
  /** The agent stopped this container itself (desired status `stopped`); not a crash. */
  stoppedByAgent: boolean;
}

/** Failures of one step id since the current deployment began. */
export interface StepStats {
  failures: number;
  /** ms since epoch of the last failure. */
  lastFailureAt: number;
  lastError: string;
}

export interface PlanSettings {
  /** Restart cool-off unit: coolOff(n) = min(unit·2^n, max). IoT Edge: 10 s. */
  coolOffUnitMs: number;
  /** IoT Edge: 300 s. */
  maxCoolOffMs: number;
  /** After this many restarts the module is left failed. IoT Edge's default: 20. */
  maxRestarts: number;
  /** Restart stats are cleared after a module has run this long (IoT Edge: 10 min). */
  stableResetMs: number;
  /** A failed step waits stepRetryUnitMs·2^(n-1) before the next attempt. */
  stepRetryUnitMs: number;
  /** A step that failed this many times is given up (the deployment fails). */
  maxStepAttempts: number;
  /** Start-first updates: how long a new container has to answer its ready path (default 120 s). */
  readyTimeoutMs?: number;
  /** Start-first updates: how long the old container's in-flight requests may take (default 30 s). */
  drainTimeoutMs?: number;
}

export interface PlanContext {
  /** ms since epoch: the only clock the planner sees. */
  now: number;
  /** The desired version being applied (labels new containers). */
  deployment: string;
  /** Image references present on the engine (normalized, see normalizeImageRef). */
  images: ReadonlySet<string>;
  /** Images pulled (or refreshed) since this deployment began. */
  pulled: ReadonlySet<string>;
  stepStats: ReadonlyMap<string, StepStats>;
  moduleStats: ReadonlyMap<string, ModuleStats>;
  settings: PlanSettings;
}

// ---------------------------------------------------------------- steps

/**
 * Why a pass waits instead of acting. `image-missing`, `gave-up` and `port-conflict` (two start-first
 * modules claim one public port) block the deployment.
 */
export type NoopReason =
  | 'backoff'
  | 'restart-limit'
  | 'startup-order'
  | 'retry-wait'
  | 'gave-up'
  | 'image-missing'
  | 'port-conflict';

export const BLOCKING_NOOPS: ReadonlySet<NoopReason> = new Set(['gave-up', 'image-missing', 'port-conflict']);

export interface StepArgs {
  pull: { image: string; modules: string[] };
  create: { module: DesiredModule; specHash: string; specParts: SpecParts; reason: string };
  /** `container` is an id, or the module name for a container created earlier in the same pass. */
  start: { module: string; container: string };
  stop: { module: string; containerId: string; reason: string };
  remove: { module: string; containerId: string; reason: string };
  restart: { module: string; containerId: string; reason: string };
  noop: { module: string | undefined; reason: NoopReason; detail: string; retryInMs?: number };
  clearStats: { module: string };
  // Start-first (blue/green) updates of HTTP modules behind the agent's proxy (start-first.ts).
  /** Creates the container named `name`, listening on a port the executor allocates (+ `env`). */
  createBehindProxy: {
    module: DesiredModule;
    specHash: string;
    specParts: SpecParts;
    reason: string;
    name: string;
    env: Record<string, string>;
  };
  /** Waits (bounded) until `container` (id or name) answers `GET path` with 2xx; fails if it exits. */
  awaitReady: { module: string; container: string; path: string; timeoutMs: number };
  /** Points the proxy on `publicPort` at `container` (id or name); new requests go there at once. */
  route: { module: string; container: string; publicPort: number };
  /** Waits (bounded) for the requests the proxy still has in flight to `containerId` to finish. */
  drain: { module: string; containerId: string; timeoutMs: number };
  /** Closes the module's public port in the proxy (the module is no longer start-first, or is gone). */
  unroute: { module: string; reason: string };
}

export type Action = keyof StepArgs;
export type StepOf<K extends Action> = { action: K; id: string } & StepArgs[K];
/** A distributive union: narrowing on `action` gives the exact argument type. */
export type Step = { [K in Action]: StepOf<K> }[Action];
