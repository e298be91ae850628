/**
 * Diff first, as data (IoT Edge's ModuleSet.Diff + ProcessDiff): desired modules against the
 * containers found, sorted into buckets the planner maps to steps.
 */
import { recreateReason, specHash, specParts } from './spec.js';
import type { CurrentContainer, DesiredModule, ModuleStats } from './types.js';

export interface Paired {
  module: DesiredModule;
  container: CurrentContainer;
}

export interface ModuleDiff {
  /** Desired, no container yet. */
  added: DesiredModule[];
  /** Desired, container out of date (spec hash differs): recreate, with the reason. */
  updated: (Paired & { reason: string })[];
  /** Container up to date, but its run state differs from the desired status (not a crash). */
  statusChanged: (Paired & { to: 'running' | 'stopped' })[];
  /** Container up to date, desired running, not running or unhealthy: the restart policy decides. */
  dead: Paired[];
  /** Container up to date and running as desired. */
  runningGreat: Paired[];
  /** Container up to date, desired stopped, not running. */
  stoppedAsDesired: Paired[];
  /** Containers of modules no longer desired. */
  removed: CurrentContainer[];
  /** Extra containers of a desired module (a crash between create and remove can leave one). */
  duplicates: CurrentContainer[];
}

const byPreference =
  (hash: string) =>
  (a: CurrentContainer, b: CurrentContainer): number => {
    const score = (c: CurrentContainer) => (c.specHash === hash ? 2 : 0) + (c.state === 'running' ? 1 : 0);
    return score(b) - score(a) || b.createdAt - a.createdAt;
  };

const NOT_STARTED = new Set(['created']);

export function diffModules(
  desired: readonly DesiredModule[],
  current: readonly CurrentContainer[],
  stats: ReadonlyMap<string, ModuleStats> = new Map(),
): ModuleDiff {
  const diff: ModuleDiff = {
    added: [],
    updated: [],
    statusChanged: [],
    dead: [],
    runningGreat: [],
    stoppedAsDesired: [],
    removed: [],
    duplicates: [],
  };
  const byModule = new Map<string, CurrentContainer[]>();
  for (const c of current) byModule.set(c.module, [...(byModule.get(c.module) ?? []), c]);
  const wanted = new Set(desired.map((m) => m.name));
  for (const [name, containers] of byModule) if (!wanted.has(name)) diff.removed.push(...containers);

  for (const module of desired) {
    const hash = specHash(module);
    const [container, ...extra] = [...(byModule.get(module.name) ?? [])].sort(byPreference(hash));
    diff.duplicates.push(...extra);
    if (!container) {
      diff.added.push(module);
      continue;
    }
    if (container.specHash !== hash) {
      diff.updated.push({
        module,
        container,
        reason: recreateReason(container.specParts, specParts(module)),
      });
      continue;
    }
    const running = container.state === 'running';
    const pair = { module, container };
    if (module.status === 'stopped') {
      if (running || container.state === 'restarting') diff.statusChanged.push({ ...pair, to: 'stopped' });
      else diff.stoppedAsDesired.push(pair);
    } else if (running && container.health !== 'unhealthy') {
      diff.runningGreat.push(pair);
    } else if (NOT_STARTED.has(container.state) || (!running && stats.get(module.name)?.stoppedByAgent)) {
      diff.statusChanged.push({ ...pair, to: 'running' });
    } else {
      diff.dead.push(pair);
    }
  }
  return diff;
}
