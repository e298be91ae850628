/**
 * Executors: one per action, each a single adapter call or a fixed sequence (plus the module-stats
 * bookkeeping the step implies). Every branch lives in the planner; nothing here decides.
 */
import { ModelportError } from '../../common/errors.js';
import type { RegistryCredential } from '../../manifests/index.js';
import type { Address } from '../health/probe.js';
import type { Action, Step, StepOf } from '../reconcile/types.js';
import { containerCreateBody, proxiedCreateBody } from './container-spec.js';
import type { DockerAdapter } from './docker-adapter.js';
import type { ImagePuller } from './pull.js';
import { type ReadyProber, upstreamAddress, waitUntilReady } from './readiness.js';

export type Executors = { [K in Action]: (step: StepOf<K>) => Promise<void> };

/** The restart bookkeeping executors keep (AgentStore implements it). */
export interface ModuleStatsWriter {
  recordRestart(module: string, at: number): void;
  clearStats(module: string): void;
  setStoppedByAgent(module: string, stopped: boolean): void;
}

/** What the start-first steps need from the agent's reverse proxy (agent/proxy). */
export interface ProxyControl {
  /** A free port for a new container to listen on. */
  allocatePort(): Promise<number>;
  /** Sends the module's public port to this container from now on (listening first if needed). */
  route(module: string, publicPort: number, target: { containerId: string } & Address): Promise<void>;
  /** Waits (up to `timeoutMs`) for the requests in flight to the container, then lets it go. */
  drain(containerId: string, timeoutMs: number): Promise<void>;
  /** Stops listening on the module's public port. */
  unroute(module: string): Promise<void>;
}

export interface ExecutorDeps {
  docker: DockerAdapter;
  puller: ImagePuller;
  stats: ModuleStatsWriter;
  agentId: string;
  /** The desired version new containers are labelled with. */
  deployment: () => string;
  credentials: () => Readonly<Record<string, RegistryCredential>>;
  now: () => number;
  stopTimeoutSeconds: number;
  proxy: ProxyControl;
  /** GET of a ready path (agent/health/probe.ts httpProbe). */
  probe: ReadyProber;
  signal?: AbortSignal;
}

export function createExecutors(deps: ExecutorDeps): Executors {
  const { docker, stats } = deps;
  return {
    pull: async (s) => {
      await deps.puller.pull(s.image, deps.credentials(), deps.signal);
    },
    create: async (s) => {
      await docker.create(
        containerCreateBody(s.module, {
          agentId: deps.agentId,
          deployment: deps.deployment(),
          specHash: s.specHash,
          specParts: s.specParts,
        }),
      );
      stats.clearStats(s.module.name);
    },
    start: async (s) => {
      await docker.start(s.container);
      stats.setStoppedByAgent(s.module, false);
    },
    stop: async (s) => {
      await docker.stop(s.containerId, deps.stopTimeoutSeconds);
      stats.setStoppedByAgent(s.module, true);
    },
    remove: (s) => docker.remove(s.containerId),
    restart: async (s) => {
      await docker.restart(s.containerId, deps.stopTimeoutSeconds);
      stats.recordRestart(s.module, deps.now());
    },
    noop: async () => undefined,
    clearStats: async (s) => stats.clearStats(s.module),
    createBehindProxy: async (s) => {
      const internalPort = await deps.proxy.allocatePort();
      await docker.create(
        proxiedCreateBody(
          s.module,
          {
            agentId: deps.agentId,
            deployment: deps.deployment(),
            specHash: s.specHash,
            specParts: s.specParts,
          },
          { name: s.name, internalPort, env: s.env },
        ),
      );
      stats.clearStats(s.module.name);
    },
    awaitReady: (s) =>
      waitUntilReady(docker, deps.probe, {
        container: s.container,
        path: s.path,
        timeoutMs: s.timeoutMs,
        ...(deps.signal && { signal: deps.signal }),
      }),
    route: async (s) => {
      const info = await docker.inspect(s.container);
      if (!info)
        throw new ModelportError('CONTAINER_GONE', `container ${s.container} is gone; cannot route to it`);
      await deps.proxy.route(s.module, s.publicPort, { containerId: info.Id, ...upstreamAddress(info) });
    },
    drain: (s) => deps.proxy.drain(s.containerId, s.timeoutMs),
    unroute: (s) => deps.proxy.unroute(s.module),
  };
}

/** Runs one step with its own executor; the mapped type keeps action and arguments in step. */
export function runStep<K extends Action>(executors: Executors, step: StepOf<K>): Promise<void> {
  const execute: (s: StepOf<K>) => Promise<void> = executors[step.action];
  return execute(step);
}

/** The module a step acts on, for per-module chains in a pass. */
export function moduleOf(step: Step): string | undefined {
  switch (step.action) {
    case 'pull':
      return undefined;
    case 'create':
    case 'createBehindProxy':
      return step.module.name;
    default:
      return step.module;
  }
}
