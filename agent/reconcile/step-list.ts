/**
 * Step ids and the list a planning pass fills: a step that failed recently (or too often) is replaced
 * by the matching noop, so retries wait `stepRetryUnitMs·2^(n-1)` and give up at `maxStepAttempts`.
 */
import type { CurrentContainer, PlanContext, Step, StepOf } from './types.js';

const short = (id: string) => id.slice(0, 12);

export const stepIds = {
  pull: (image: string) => `pull:${image}`,
  create: (module: string, hash: string) => `create:${module}:${short(hash)}`,
  start: (module: string) => `start:${module}`,
  stop: (module: string, containerId: string) => `stop:${module}:${short(containerId)}`,
  remove: (module: string, containerId: string) => `remove:${module}:${short(containerId)}`,
  restart: (module: string) => `restart:${module}`,
  clearStats: (module: string) => `clearStats:${module}`,
  noop: (reason: string, subject: string) => `noop:${reason}:${subject}`,
  // Keyed by the desired spec, not the container: the container may not exist when the step is planned.
  createBehindProxy: (module: string, hash: string) => `createBehindProxy:${module}:${short(hash)}`,
  awaitReady: (module: string, hash: string) => `awaitReady:${module}:${short(hash)}`,
  route: (module: string, hash: string) => `route:${module}:${short(hash)}`,
  drain: (module: string, containerId: string) => `drain:${module}:${short(containerId)}`,
  unroute: (module: string) => `unroute:${module}`,
};

/** Builds steps, replacing a step that failed recently (or too often) by the matching noop. */
export class StepList {
  readonly steps: Step[] = [];
  /** Modules whose chain stopped on a failed step: an attempt was made. */
  readonly attempted = new Set<string>();
  /** Modules that get a create or start step in this pass (not started yet when it was planned). */
  readonly starting = new Set<string>();

  constructor(private readonly ctx: PlanContext) {}

  /** Adds the step unless its retry stats hold it back; returns false when the chain must stop. */
  add(step: Step, module: string | undefined): boolean {
    if (this.heldBack(step.id, module)) return false;
    this.steps.push(step);
    if (step.action === 'create' || step.action === 'createBehindProxy') this.starting.add(step.module.name);
    if (step.action === 'start') this.starting.add(step.module);
    return true;
  }

  /**
   * True (and the noop planned) when the step `id` failed recently or too often: used to hold a chain
   * back before its first step when a later step is the one waiting to be retried.
   */
  heldBack(id: string, module: string | undefined): boolean {
    const stats = this.ctx.stepStats.get(id);
    if (!stats || stats.failures === 0) return false;
    const { maxStepAttempts, stepRetryUnitMs } = this.ctx.settings;
    if (module) this.attempted.add(module);
    if (stats.failures >= maxStepAttempts) {
      this.noop(module, 'gave-up', `${id} failed ${stats.failures} times: ${stats.lastError}`, id);
      return true;
    }
    const wait = stepRetryUnitMs * 2 ** (stats.failures - 1) - (this.ctx.now - stats.lastFailureAt);
    if (wait > 0) {
      this.noop(module, 'retry-wait', `${id} failed: ${stats.lastError}`, id, wait);
      return true;
    }
    return false;
  }

  noop(
    module: string | undefined,
    reason: StepOf<'noop'>['reason'],
    detail: string,
    subject = module ?? '',
    retryInMs?: number,
  ): void {
    this.steps.push({
      action: 'noop',
      id: stepIds.noop(reason, subject),
      module,
      reason,
      detail,
      ...(retryInMs !== undefined && { retryInMs }),
    });
  }
}

/** Stop (when it runs) and remove one container; false when the chain must stop. */
export function stopAndRemove(c: CurrentContainer, reason: string, list: StepList): boolean {
  if (c.state === 'running' || c.state === 'restarting' || c.state === 'paused') {
    const stop: StepOf<'stop'> = {
      action: 'stop',
      id: stepIds.stop(c.module, c.id),
      module: c.module,
      containerId: c.id,
      reason,
    };
    if (!list.add(stop, c.module)) return false;
  }
  return list.add(
    { action: 'remove', id: stepIds.remove(c.module, c.id), module: c.module, containerId: c.id, reason },
    c.module,
  );
}
