/**
 * Executors: one per action, each a single adapter call or a fixed sequence (plus the module-stats
 * bookkeeping the step implies). Every branch lives in the planner; nothing here decides.
 */
import type { RegistryCredential } from '../../manifests/index.js';
import type { Action, Step, StepOf } from '../reconcile/types.js';
import { containerCreateBody } from './container-spec.js';
import type { DockerAdapter } from './docker-adapter.js';
import type { ImagePuller } from './pull.js';

export type Executors = { [K in Action]: (step: StepOf<K>) => Promise<void> };

/** The restart bookkeeping executors keep (AgentStore implements it). */
export interface ModuleStatsWriter {
  recordRestart(module: string, at: number): void;
  clearStats(module: string): void;
  setStoppedByAgent(module: string, stopped: boolean): void;
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
      return step.module.name;
    default:
      return step.module;
  }
}
