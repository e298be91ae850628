/**
 * Start-first (blue/green) updates of HTTP modules, so a new model version replaces the old one with
 * no refused or failed request.
 *
 * A module opts in with the createOptions label `modelport.update=start-first` and names its public
 * port in env `MODELPORT_PORT` (the real IoT Edge runtime ignores the label and runs the module as
 * usual). The agent then owns that port through its reverse proxy (agent/proxy) and runs each
 * container of the module on a port of its own (`MODELPORT_PORT` set to it in the container, recorded
 * in the label `modelport.update.internal-port`). When the module's spec changes, the new container is
 * created and started beside the old one, awaited on its ready path (`modelport.update.ready-path`,
 * default `/ready`), the proxy switched to it, the old one drained, then stopped and removed.
 *
 * Every container of the module is found by its labels; the proxy's routing (which container gets
 * the public port) is part of the current state. After a `kill -9` anywhere in the sequence the next
 * pass sees the containers as they are and finishes the swap: the up-to-date container is kept (and
 * routed to once it is ready), the others go.
 */

import { recreateReason, specHash, specParts } from './spec.js';
import { type StepList, stepIds, stopAndRemove } from './step-list.js';
import type { CurrentContainer, DesiredModule, PlanContext } from './types.js';

/** createOptions label that opts a module in (value `start-first`); cloud/manifest writes the same name. */
export const UPDATE_LABEL = 'modelport.update';
export const START_FIRST = 'start-first';
/** createOptions label: the path that answers 2xx once a new container can take traffic. */
export const READY_PATH_LABEL = 'modelport.update.ready-path';
/** The scoring server's readiness route: 200 once every model and the entry script have loaded. */
export const DEFAULT_READY_PATH = '/ready';
export const DEFAULT_READY_TIMEOUT_MS = 120_000;
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

export interface StartFirstSpec {
  /** The port clients use: the proxy listens on it. */
  publicPort: number;
  readyPath: string;
}

const labelsOf = (m: DesiredModule): Record<string, unknown> => {
  const labels = m.createOptions['Labels'];
  return labels !== null && typeof labels === 'object' ? (labels as Record<string, unknown>) : {};
};

/** The module's start-first settings, or undefined when it is updated the usual way (stop, then start). */
export function startFirstOf(m: DesiredModule): StartFirstSpec | undefined {
  const labels = labelsOf(m);
  if (labels[UPDATE_LABEL] !== START_FIRST) return undefined;
  const port = Number(m.env['MODELPORT_PORT']);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  const path = labels[READY_PATH_LABEL];
  const readyPath = typeof path === 'string' && path.startsWith('/') ? path : DEFAULT_READY_PATH;
  return { publicPort: port, readyPath };
}

/** The code in the description of a deployment refused for a public port claimed twice. */
export const PROXY_PORT_CONFLICT = 'PROXY_PORT_CONFLICT';

/**
 * Public ports claimed by more than one start-first module (sorted by port, modules by name). The
 * proxy can give a port to one module only: such a deployment cannot be applied as it stands, so the
 * planner refuses it (a blocking noop: the deployment fails and the last good one is kept) instead of
 * retrying a listen that can never succeed.
 */
export function publicPortConflicts(
  desired: readonly DesiredModule[],
): { port: number; modules: string[] }[] {
  const byPort = new Map<number, string[]>();
  for (const m of desired) {
    const spec = startFirstOf(m);
    if (spec) byPort.set(spec.publicPort, [...(byPort.get(spec.publicPort) ?? []), m.name]);
  }
  return [...byPort]
    .filter(([, modules]) => modules.length > 1)
    .sort(([a], [b]) => a - b)
    .map(([port, modules]) => ({ port, modules: [...modules].sort() }));
}

/** Docker name of a start-first container: the module and its spec, so old and new can coexist. */
export function proxiedContainerName(module: string, hash: string): string {
  return `${module}.${hash.slice(0, 12)}`;
}

const isFresh = (c: CurrentContainer, hash: string) => c.specHash === hash && c.internalPort !== undefined;
const isRunning = (c: CurrentContainer) =>
  c.state === 'running' || c.state === 'restarting' || c.state === 'paused';

/**
 * Nothing to swap: one container, up to date, behind the proxy and receiving the traffic. A settled
 * module is planned like any other (restart policies, desired status); the rest go through `planSwap`.
 */
export function isSettled(m: DesiredModule, containers: readonly CurrentContainer[]): boolean {
  const [only, ...more] = containers;
  return only !== undefined && more.length === 0 && isFresh(only, specHash(m)) && only.routed === true;
}

/** Does the swap of `m` need a new container (and so maybe an image pull)? */
export function needsNewContainer(m: DesiredModule, containers: readonly CurrentContainer[]): boolean {
  const hash = specHash(m);
  return !containers.some((c) => isFresh(c, hash));
}

/** Routed first, then running, then newest: the container to keep when there are several. */
const byKeepPreference = (a: CurrentContainer, b: CurrentContainer): number => {
  const score = (c: CurrentContainer) => (c.routed ? 2 : 0) + (c.state === 'running' ? 1 : 0);
  return score(b) - score(a) || b.createdAt - a.createdAt;
};

/**
 * The steps that bring a start-first module (desired running, not settled) to one routed, up-to-date
 * container: [create, start,] await ready, route, then drain, stop and remove each other container.
 * A container that owns the public port itself (created before the module was start-first) is stopped
 * before the proxy can take the port over: that one switch cannot be seamless.
 */
export function planSwap(
  m: DesiredModule,
  spec: StartFirstSpec,
  containers: readonly CurrentContainer[],
  ctx: PlanContext,
  list: StepList,
): void {
  const hash = specHash(m);
  const fresh = containers.filter((c) => isFresh(c, hash)).sort(byKeepPreference);
  const next = fresh[0];
  const others = containers
    .filter((c) => c !== next)
    .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  const replaced = others.find((c) => c.specHash !== hash);
  const reason = replaced
    ? `start-first update: ${recreateReason(replaced.specParts, specParts(m))}`
    : 'start-first: new module';

  if (!next?.routed) {
    const readyId = stepIds.awaitReady(m.name, hash);
    const routeId = stepIds.route(m.name, hash);
    // While a later step of the chain waits for its retry (a new container that does not get ready, a
    // public port still taken), the earlier ones wait with it instead of being repeated every pass.
    if (list.heldBack(routeId, m.name)) return;
    let ref: string;
    if (!next) {
      const name = proxiedContainerName(m.name, hash);
      if (list.heldBack(readyId, m.name)) return;
      const create = {
        action: 'createBehindProxy' as const,
        id: stepIds.createBehindProxy(m.name, hash),
        module: m,
        specHash: hash,
        specParts: specParts(m),
        reason,
        name,
        env: internalEnv(m),
      };
      if (!list.add(create, m.name)) return;
      if (!list.add({ action: 'start', id: stepIds.start(m.name), module: m.name, container: name }, m.name))
        return;
      ref = name;
    } else {
      if (!isRunning(next)) {
        if (list.heldBack(readyId, m.name)) return;
        if (
          !list.add(
            { action: 'start', id: stepIds.start(m.name), module: m.name, container: next.id },
            m.name,
          )
        )
          return;
      }
      ref = next.id;
    }
    const ready = {
      action: 'awaitReady' as const,
      id: readyId,
      module: m.name,
      container: ref,
      path: spec.readyPath,
      timeoutMs: ctx.settings.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    };
    if (!list.add(ready, m.name)) return;
    // Containers that listen on the public port themselves must let go of it before the proxy binds it.
    for (const c of others.filter((o) => o.internalPort === undefined && isRunning(o))) {
      if (!stopAndRemove(c, `${reason} (it holds the public port)`, list)) return;
    }
    const route = {
      action: 'route' as const,
      id: routeId,
      module: m.name,
      container: ref,
      publicPort: spec.publicPort,
    };
    if (!list.add(route, m.name)) return;
  }
  for (const c of others) {
    if (c.internalPort === undefined && isRunning(c) && !next?.routed) continue; // removed above
    if (c.routed) {
      const drain = {
        action: 'drain' as const,
        id: stepIds.drain(m.name, c.id),
        module: m.name,
        containerId: c.id,
        timeoutMs: ctx.settings.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
      };
      if (!list.add(drain, m.name)) return;
    }
    if (!stopAndRemove(c, c.specHash === hash ? 'duplicate container' : reason, list)) return;
  }
}

/**
 * Env the container gets on top of the module's, besides the port the executor allocates: on the
 * host network its own port stays on loopback (the proxy is the way in), unless the module chose.
 */
function internalEnv(m: DesiredModule): Record<string, string> {
  const hostConfig = m.createOptions['HostConfig'] as { NetworkMode?: unknown } | undefined;
  const hostNetwork = hostConfig?.NetworkMode === 'host';
  return hostNetwork && m.env['MODELPORT_HOST'] === undefined ? { MODELPORT_HOST: '127.0.0.1' } : {};
}

/**
 * Modules whose proxy route must close before anything else happens to them: a container is routed
 * but the module is gone or no longer start-first.
 */
export function routesToClose(
  desired: readonly DesiredModule[],
  current: readonly CurrentContainer[],
): string[] {
  const startFirst = new Set(desired.filter((m) => startFirstOf(m) !== undefined).map((m) => m.name));
  return [
    ...new Set(current.filter((c) => c.routed && !startFirst.has(c.module)).map((c) => c.module)),
  ].sort();
}
