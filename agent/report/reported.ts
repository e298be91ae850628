/**
 * The `$edgeAgent` reported properties, in edgeAgent's shape (schemaVersion, version,
 * lastDesiredVersion, lastDesiredStatus, runtime, systemModules, modules), plus modelport's own
 * `modelport` section (agent id, deployment phase, hardware inventory). Pure: built from one pass's
 * observations; the reporter sends only the difference from what the hub already has.
 */
import type { EdgeAgentDesired } from '../../manifests/index.js';
import { type RuntimeStatus, runtimeStatusOf } from '../reconcile/restart.js';
import type { CurrentContainer, DesiredModule, ModuleStats, StepOf } from '../reconcile/types.js';
import type { DeploymentStatus } from './status.js';

export const REPORTED_SCHEMA_VERSION = '1.1';

export interface ReportedModule {
  runtimeStatus: RuntimeStatus;
  statusDescription: string;
  exitCode?: number;
  lastStartTimeUtc?: string;
  lastExitTimeUtc?: string;
  restartCount: number;
  lastRestartTimeUtc?: string;
  version?: string;
  status: string;
  restartPolicy: string;
  imagePullPolicy: string;
  startupOrder: number;
  type: 'docker';
  /** createOptions are left out: they are in the desired properties, and a twin string holds at most 4 KB. */
  settings: { image: string; imageHash?: string };
}

export interface DeploymentProgress {
  version: number;
  /** `converging` (pulling/creating), `verifying` (health window), `succeeded`, `failed`, `rolled-back`. */
  phase: string;
  detail: string;
}

export interface ReportInput {
  agentId: string;
  agentVersion: string;
  agentImage: string;
  agentStartedAt: number;
  platform: { os: string; architecture: string; version: string };
  desired: EdgeAgentDesired | undefined;
  modules: readonly DesiredModule[];
  containers: readonly CurrentContainer[];
  stats: ReadonlyMap<string, ModuleStats>;
  /** This pass's noop steps: back-off and restart limits show in runtimeStatus. */
  waits: readonly StepOf<'noop'>[];
  lastDesired: { version: number; status: DeploymentStatus } | undefined;
  deployment: DeploymentProgress | undefined;
  /** edgeHub's entry, from the local hub when there is one. */
  edgeHub?: Record<string, unknown>;
  inventory?: Record<string, unknown>;
  /** The store-and-forward outbox's state (ok, failing, unavailable) and its last error. */
  outbox?: { state: string; lastError?: { code: string; message: string; at: string } };
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function describe(
  m: DesiredModule,
  c: CurrentContainer | undefined,
  wait: StepOf<'noop'> | undefined,
): { runtimeStatus: RuntimeStatus; statusDescription: string } {
  if (!c) {
    return {
      runtimeStatus: 'unknown',
      statusDescription: wait ? `not created: ${wait.detail}` : 'not created yet',
    };
  }
  if (wait?.reason === 'backoff') {
    const secs = Math.ceil((wait.retryInMs ?? 0) / 1000);
    return {
      runtimeStatus: 'backoff',
      statusDescription: `${c.failureDetail ?? wait.detail}; restarting in ${secs} s`,
    };
  }
  if (wait?.reason === 'restart-limit') return { runtimeStatus: 'failed', statusDescription: wait.detail };
  const status = runtimeStatusOf(c);
  switch (status) {
    case 'running':
      return {
        runtimeStatus: 'running',
        statusDescription: c.health === 'healthy' ? 'running (healthy)' : 'running',
      };
    case 'unhealthy':
      return { runtimeStatus: 'unhealthy', statusDescription: 'running, but unhealthy (Docker HEALTHCHECK)' };
    case 'failed':
      return {
        runtimeStatus: 'failed',
        statusDescription: c.failureDetail ?? `exited with code ${c.exitCode}`,
      };
    case 'stopped':
      if (c.state === 'created')
        return { runtimeStatus: 'stopped', statusDescription: 'created, not started' };
      if (m.status === 'stopped')
        return { runtimeStatus: 'stopped', statusDescription: 'stopped (desired status)' };
      return { runtimeStatus: 'stopped', statusDescription: `exited with code ${c.exitCode}` };
    default:
      return { runtimeStatus: status, statusDescription: c.state };
  }
}

export function reportedModule(
  m: DesiredModule,
  c: CurrentContainer | undefined,
  stats: ModuleStats | undefined,
  wait: StepOf<'noop'> | undefined,
): ReportedModule {
  return {
    ...describe(m, c, wait),
    ...(c && c.startedAt !== undefined && { exitCode: c.exitCode }),
    ...(c?.startedAt !== undefined && { lastStartTimeUtc: iso(c.startedAt) }),
    ...(c?.finishedAt !== undefined && { lastExitTimeUtc: iso(c.finishedAt) }),
    restartCount: stats?.restartCount ?? 0,
    ...(stats?.lastRestartAt !== undefined && { lastRestartTimeUtc: iso(stats.lastRestartAt) }),
    ...(m.version !== '' && { version: m.version }),
    status: m.status,
    restartPolicy: m.restartPolicy,
    imagePullPolicy: m.imagePullPolicy,
    startupOrder: m.startupOrder,
    type: 'docker',
    settings: {
      image: c?.image ?? m.image,
      ...(c && { imageHash: c.imageId }),
    },
  };
}

export function buildReported(input: ReportInput): Record<string, unknown> {
  const byModule = new Map(input.containers.map((c) => [c.module, c]));
  const waits = new Map(input.waits.filter((w) => w.module).map((w) => [w.module as string, w]));
  const modules: Record<string, ReportedModule> = {};
  for (const m of [...input.modules].sort((a, b) => a.name.localeCompare(b.name))) {
    modules[m.name] = reportedModule(m, byModule.get(m.name), input.stats.get(m.name), waits.get(m.name));
  }
  const settings = input.desired?.runtime.settings;
  return {
    schemaVersion: REPORTED_SCHEMA_VERSION,
    version: { version: input.agentVersion, build: 'modelport-agent', commit: '' },
    ...(input.lastDesired
      ? { lastDesiredVersion: input.lastDesired.version, lastDesiredStatus: input.lastDesired.status }
      : { lastDesiredStatus: { code: 417, description: 'no deployment has been received' } }),
    runtime: {
      platform: input.platform,
      type: 'docker',
      settings: {
        ...(settings?.minDockerVersion && { minDockerVersion: settings.minDockerVersion }),
        ...(settings?.loggingOptions && { loggingOptions: settings.loggingOptions }),
      },
    },
    systemModules: {
      edgeAgent: {
        runtimeStatus: 'running',
        statusDescription: 'running (modelport-agent)',
        lastStartTimeUtc: iso(input.agentStartedAt),
        imagePullPolicy: input.desired?.systemModules.edgeAgent.imagePullPolicy ?? 'on-create',
        type: 'docker',
        settings: { image: input.agentImage },
      },
      edgeHub: input.edgeHub ?? {
        runtimeStatus: 'unknown',
        statusDescription: 'the local hub is not running in this modelport-agent',
        status: input.desired?.systemModules.edgeHub.status ?? 'running',
        restartPolicy: 'always',
        type: 'docker',
        settings: { image: input.desired?.systemModules.edgeHub.settings.image ?? '' },
      },
    },
    modules,
    modelport: {
      agentId: input.agentId,
      ...(input.deployment && { deployment: input.deployment }),
      ...(input.inventory && { inventory: input.inventory }),
      ...(input.outbox && {
        outbox: {
          status: input.outbox.state,
          ...(input.outbox.lastError && { lastError: input.outbox.lastError }),
        },
      }),
    },
  };
}
