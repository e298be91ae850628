/**
 * Current state, read back from Docker each pass: list this agent's containers by label, inspect
 * each (skipping one removed in between), and map to the planner's CurrentContainer. A container
 * that failed gets a one-line reason from its last log lines (read once per exit).
 */
import type Docker from 'dockerode';
import { parseSpecParts } from '../reconcile/spec.js';
import type { ContainerHealth, ContainerState, CurrentContainer } from '../reconcile/types.js';
import type { DockerAdapter } from './docker-adapter.js';
import { describeExit } from './failure-detail.js';
import { LABEL } from './labels.js';

/** A container as the planner sees it, plus the inspect data health probes and reports need. */
export interface ObservedContainer extends CurrentContainer {
  name: string;
  inspect: Docker.ContainerInspectInfo;
}

const STATES: ReadonlySet<string> = new Set([
  'created',
  'running',
  'paused',
  'restarting',
  'removing',
  'exited',
  'dead',
]);

/** Docker's zero time (`0001-01-01T00:00:00Z`) means "never". */
export function dockerTime(value: string | undefined): number | undefined {
  if (!value || value.startsWith('0001-')) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

export function toCurrent(info: Docker.ContainerInspectInfo): ObservedContainer | undefined {
  const labels = info.Config?.Labels ?? {};
  const module = labels[LABEL.module];
  if (!module) return undefined;
  const status = info.State?.Status ?? 'exited';
  const healthStatus = (info.State as { Health?: { Status?: string } }).Health?.Status;
  const health: ContainerHealth =
    healthStatus === 'healthy' || healthStatus === 'unhealthy' || healthStatus === 'starting'
      ? healthStatus
      : 'none';
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    module,
    deployment: labels[LABEL.deployment] ?? '',
    specHash: labels[LABEL.specHash],
    specParts: parseSpecParts(labels[LABEL.specParts]),
    image: info.Config?.Image ?? '',
    imageId: info.Image,
    state: (STATES.has(status) ? status : 'exited') as ContainerState,
    exitCode: info.State?.ExitCode ?? 0,
    startedAt: dockerTime(info.State?.StartedAt),
    finishedAt: dockerTime(info.State?.FinishedAt),
    createdAt: dockerTime(info.Created) ?? 0,
    health,
    ...internalPortOf(labels),
    inspect: info,
  };
}

function internalPortOf(labels: Record<string, string>): { internalPort?: number } {
  const port = Number(labels[LABEL.internalPort]);
  return Number.isInteger(port) && port > 0 && port <= 65535 ? { internalPort: port } : {};
}

export class CurrentStateReader {
  /** `${id}:${finishedAt}` → description, so logs are read once per exit. */
  private readonly failureCache = new Map<string, string>();

  constructor(
    private readonly docker: DockerAdapter,
    private readonly agentId: string,
  ) {}

  async read(): Promise<ObservedContainer[]> {
    const listed = await this.docker.listManaged(this.agentId);
    const inspected = await Promise.all(listed.map((c) => this.docker.inspect(c.Id)));
    const out: ObservedContainer[] = [];
    for (const info of inspected) {
      const c = info && toCurrent(info);
      if (!c) continue;
      if ((c.state === 'exited' && c.exitCode !== 0) || c.state === 'dead')
        c.failureDetail = await this.failure(c);
      out.push(c);
    }
    this.pruneCache(out);
    return out;
  }

  private async failure(c: ObservedContainer): Promise<string> {
    const key = `${c.id}:${c.finishedAt ?? 0}`;
    const cached = this.failureCache.get(key);
    if (cached !== undefined) return cached;
    const lines = await this.docker.logs(c.id, { tail: 20 }, c.inspect.Config?.Tty ?? false).catch(() => []);
    const description = describeExit(c.exitCode, lines);
    this.failureCache.set(key, description);
    return description;
  }

  private pruneCache(live: ObservedContainer[]): void {
    const ids = new Set(live.map((c) => c.id));
    for (const key of this.failureCache.keys())
      if (!ids.has(key.split(':')[0] ?? '')) this.failureCache.delete(key);
  }
}
