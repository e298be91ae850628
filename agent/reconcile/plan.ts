/**
 * The planner: `plan(desired, current, ctx) → Step[]`, synchronous and free of I/O (no Docker, no
 * database, no clock but `ctx.now`). Each pass emits only the steps that are safe now; the loop
 * executes them, reads Docker again and plans again until nothing is left to do.
 *
 * Order (IoT Edge's PlanAsync, balena's update strategies):
 * 1. pulls: every image a new container needs, before anything is stopped or removed. While a pull
 *    is pending nothing else is planned, so a deployment whose images cannot be fetched leaves the
 *    running modules as they were;
 * 2. proxy routes of modules that left start-first are closed; containers of modules no longer
 *    desired (and duplicates) are stopped and removed;
 * 3. modules by ascending startupOrder: recreate (stop, remove, create), create, start, stop,
 *    restarts per policy; start-first modules in a swap get theirs from start-first.ts (create and
 *    start beside the old container, await ready, route, drain, stop and remove the old one). A group is processed only once every lower group has been started (an
 *    attempt made, as IoT Edge does); until then its modules get `noop` (startup-order).
 */
import { diffModules, type Paired } from './diff.js';
import { restartDecision } from './restart.js';
import { normalizeImageRef, specHash, specParts } from './spec.js';
import {
  isSettled,
  needsNewContainer,
  PROXY_PORT_CONFLICT,
  planSwap,
  publicPortConflicts,
  routesToClose,
  type StartFirstSpec,
  startFirstOf,
} from './start-first.js';
import { StepList, stepIds, stopAndRemove } from './step-list.js';
import type { CurrentContainer, DesiredModule, ModuleStats, PlanContext, Step } from './types.js';

export { stepIds } from './step-list.js';

const ZERO_STATS: ModuleStats = { restartCount: 0, lastRestartAt: undefined, stoppedByAgent: false };

export function plan(
  desired: readonly DesiredModule[],
  current: readonly CurrentContainer[],
  ctx: PlanContext,
): Step[] {
  // A deployment whose start-first modules share a public port cannot be applied: refuse all of it.
  const conflicts = publicPortConflicts(desired);
  if (conflicts.length > 0) {
    const refused = new StepList(ctx);
    for (const { port, modules } of conflicts) {
      const detail =
        `${PROXY_PORT_CONFLICT}: modules ${modules.map((m) => `'${m}'`).join(', ')} claim the same public ` +
        `port ${port} (env MODELPORT_PORT of start-first modules); give each module its own MODELPORT_PORT`;
      for (const m of modules) refused.noop(m, 'port-conflict', detail);
    }
    return refused.steps;
  }
  // Start-first modules in the middle of a swap are planned by start-first.ts, outside the diff.
  const swapping = new Map<string, { spec: StartFirstSpec; containers: CurrentContainer[] }>();
  for (const m of desired) {
    const spec = startFirstOf(m);
    const mine = current.filter((c) => c.module === m.name);
    if (spec && m.status === 'running' && !isSettled(m, mine))
      swapping.set(m.name, { spec, containers: mine });
  }
  const diff = diffModules(
    desired.filter((m) => !swapping.has(m.name)),
    current.filter((c) => !swapping.has(c.module)),
    ctx.moduleStats,
  );
  const list = new StepList(ctx);

  // 1. Pulls first.
  const creating = [
    ...diff.added,
    ...diff.updated.map((u) => u.module),
    ...desired.filter((m) => {
      const swap = swapping.get(m.name);
      return swap !== undefined && needsNewContainer(m, swap.containers);
    }),
  ];
  const blockedImages = planPulls(creating, ctx, list);
  if (list.steps.some((s) => s.action === 'pull' || (s.action === 'noop' && s.reason === 'retry-wait'))) {
    return list.steps;
  }

  // 2. Proxy routes of modules that are gone or no longer start-first, then containers that must go.
  for (const module of routesToClose(desired, current)) {
    const reason = desired.some((m) => m.name === module)
      ? 'module is no longer start-first'
      : 'module removed from the deployment';
    list.add({ action: 'unroute', id: stepIds.unroute(module), module, reason }, module);
  }
  const leaving = [...diff.removed, ...diff.duplicates].sort(
    (a, b) => a.module.localeCompare(b.module) || a.id.localeCompare(b.id),
  );
  for (const c of leaving) {
    const why = diff.removed.includes(c) ? 'module removed from the deployment' : 'duplicate container';
    stopAndRemove(c, why, list);
  }

  // 3. Modules by startupOrder.
  const updated = new Map(diff.updated.map((u) => [u.module.name, u]));
  const added = new Set(diff.added.map((m) => m.name));
  const statusChanged = new Map(diff.statusChanged.map((s) => [s.module.name, s]));
  const dead = new Map(diff.dead.map((d) => [d.module.name, d]));
  const great = new Map(diff.runningGreat.map((d) => [d.module.name, d]));
  const stoppedAsDesired = new Set(diff.stoppedAsDesired.map((d) => d.module.name));
  const orders = [...new Set(desired.map((m) => m.startupOrder))].sort((a, b) => a - b);
  let gateOpen = true;
  let blocker = '';

  for (const order of orders) {
    const group = desired
      .filter((m) => m.startupOrder === order)
      .sort((a, b) => a.name.localeCompare(b.name));
    for (const m of group) {
      if (!gateOpen) {
        if (!great.has(m.name) && !stoppedAsDesired.has(m.name)) {
          list.noop(m.name, 'startup-order', `waiting for ${blocker} (lower startupOrder) to start`);
        }
        continue;
      }
      if (blockedImages.has(m.name)) continue;
      const swap = swapping.get(m.name);
      const u = updated.get(m.name);
      if (swap) planSwap(m, swap.spec, swap.containers, ctx, list);
      else if (u) recreate(u.module, u.container, u.reason, list);
      else if (added.has(m.name)) create(m, 'new module', list);
      else planExisting(m, statusChanged, dead, great, ctx, list);
    }
    if (gateOpen) {
      // Higher groups wait until this one has been started: a start in this pass is seen next pass.
      const waitingFor = group.filter(
        (m) =>
          m.status === 'running' &&
          !list.attempted.has(m.name) &&
          !blockedImages.has(m.name) &&
          (list.starting.has(m.name) || !hasBeenStarted(m, current)),
      );
      if (waitingFor.length > 0) {
        gateOpen = false;
        blocker = waitingFor.map((m) => `'${m.name}'`).join(', ');
      }
    }
  }
  return list.steps;
}

/** Pull steps (or the noops that replace them); returns the modules whose image cannot be had. */
function planPulls(creating: DesiredModule[], ctx: PlanContext, list: StepList): Set<string> {
  const blocked = new Set<string>();
  const byImage = new Map<string, string[]>();
  for (const m of [...creating].sort((a, b) => a.name.localeCompare(b.name))) {
    const ref = normalizeImageRef(m.image);
    if (m.imagePullPolicy === 'never') {
      if (!ctx.images.has(ref)) {
        blocked.add(m.name);
        list.noop(
          m.name,
          'image-missing',
          `image ${m.image} is not on this device and module '${m.name}' has imagePullPolicy never`,
        );
      }
    } else if (!ctx.pulled.has(ref)) {
      byImage.set(m.image, [...(byImage.get(m.image) ?? []), m.name]);
    }
  }
  for (const [image, modules] of byImage) {
    const ok = list.add({ action: 'pull', id: stepIds.pull(image), image, modules }, undefined);
    const last = list.steps[list.steps.length - 1];
    if (!ok && last?.action === 'noop' && last.reason === 'gave-up') for (const m of modules) blocked.add(m);
  }
  return blocked;
}

function recreate(m: DesiredModule, old: CurrentContainer, reason: string, list: StepList): void {
  if (stopAndRemove(old, `recreate: ${reason}`, list)) create(m, reason, list);
}

function create(m: DesiredModule, reason: string, list: StepList): void {
  const hash = specHash(m);
  const created = list.add(
    {
      action: 'create',
      id: stepIds.create(m.name, hash),
      module: m,
      specHash: hash,
      specParts: specParts(m),
      reason,
    },
    m.name,
  );
  if (created && m.status === 'running') {
    list.add({ action: 'start', id: stepIds.start(m.name), module: m.name, container: m.name }, m.name);
  }
}

function planExisting(
  m: DesiredModule,
  statusChanged: Map<string, Paired & { to: 'running' | 'stopped' }>,
  dead: Map<string, Paired>,
  great: Map<string, Paired>,
  ctx: PlanContext,
  list: StepList,
): void {
  const change = statusChanged.get(m.name);
  if (change) {
    const c = change.container;
    if (change.to === 'stopped') {
      list.add(
        {
          action: 'stop',
          id: stepIds.stop(m.name, c.id),
          module: m.name,
          containerId: c.id,
          reason: 'desired status is stopped',
        },
        m.name,
      );
    } else {
      list.add({ action: 'start', id: stepIds.start(m.name), module: m.name, container: c.id }, m.name);
    }
    return;
  }
  const pair = dead.get(m.name) ?? great.get(m.name);
  if (!pair) return;
  const stats = ctx.moduleStats.get(m.name) ?? ZERO_STATS;
  const decision = restartDecision(
    { policy: m.restartPolicy, container: pair.container, stats, now: ctx.now },
    ctx.settings,
  );
  switch (decision.kind) {
    case 'none':
      return;
    case 'clearStats':
      list.add({ action: 'clearStats', id: stepIds.clearStats(m.name), module: m.name }, m.name);
      return;
    case 'restart':
      list.add(
        {
          action: 'restart',
          id: stepIds.restart(m.name),
          module: m.name,
          containerId: pair.container.id,
          reason: decision.reason,
        },
        m.name,
      );
      return;
    case 'backoff':
      list.noop(m.name, 'backoff', decision.reason, m.name, decision.retryInMs);
      return;
    case 'failed':
      list.noop(m.name, 'restart-limit', decision.reason);
      return;
  }
}

/** Started at least once (anything but `created`) with the desired spec. */
function hasBeenStarted(m: DesiredModule, current: readonly CurrentContainer[]): boolean {
  const hash = specHash(m);
  return current.some((c) => c.module === m.name && c.specHash === hash && c.state !== 'created');
}

/** `create:scorer:1a2b… (image a:1 → a:2)`: a step with the reason it was planned, for logs. */
export function describeStep(step: Step): string {
  switch (step.action) {
    case 'create':
    case 'createBehindProxy':
    case 'stop':
    case 'remove':
    case 'restart':
    case 'unroute':
      return `${step.id} (${step.reason})`;
    case 'awaitReady':
      return `${step.id} (GET ${step.path})`;
    case 'route':
      return `${step.id} (port ${step.publicPort} → ${step.container.slice(0, 12)})`;
    case 'drain':
      return step.id;
    case 'pull':
      return `${step.id} (for ${step.modules.join(', ')})`;
    case 'noop':
      return `${step.id} (${step.detail})`;
    case 'start':
    case 'clearStats':
      return step.id;
  }
}
