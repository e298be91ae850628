/**
 * The reconcile loop (balena's applyTarget, IoT Edge's ReconcileAsync): each pass takes in new desired
 * documents, re-reads Docker, plans, executes the steps that are safe now, and repeats until nothing is
 * left; then it watches the deployment's health for a window and either records it as the last known
 * good or rolls back to the previous one. Restart policies keep being enforced afterwards, on a timer
 * and on Docker events. An AbortSignal stops it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../../common/errors.js';
import type { ModuleHealth } from '../health/health.js';
import { desiredModules, type ModuleEnvironmentProvider } from '../reconcile/desired.js';
import { plan } from '../reconcile/plan.js';
import { normalizeImageRef } from '../reconcile/spec.js';
import {
  BLOCKING_NOOPS,
  type PlanSettings,
  type Step,
  type StepOf,
  type StepStats,
} from '../reconcile/types.js';
import { statusFromError } from '../report/status.js';
import type { ObservedContainer } from '../runtime/current-state.js';
import { type Executors, moduleOf, runStep } from '../runtime/executors.js';
import type { AgentStore, DesiredRecord } from '../state/store.js';
import type { EdgeHubDesiredStream } from '../twin/edgehub-stream.js';
import type { DeployEvents } from './events.js';
import { checkHealth, type Prober } from './health-check.js';
import { interpretDesired } from './intake.js';
import { type LastDesired, Outcomes, type Phase, type Target } from './target.js';

export interface LoopSettings {
  plan: PlanSettings;
  healthWindowMs: number;
  healthStableMs: number;
  /** Pass interval in steady state (restart policies, reporting); Docker events wake it sooner. */
  intervalMs: number;
  /** Pass interval while a deployment's health is being watched. */
  verifyIntervalMs: number;
}

export interface IncomingDesired {
  body: string;
  /** The twin's `$version`; undefined for manifest files (a local counter is used). */
  version?: number;
  source: string;
}

/** What one pass saw, for reported properties and direct methods. */
export interface PassSnapshot {
  target: Target | undefined;
  containers: ObservedContainer[];
  waits: StepOf<'noop'>[];
  lastDesired: LastDesired | undefined;
  health: ModuleHealth[];
}

export interface LoopDeps {
  store: AgentStore;
  readCurrent: () => Promise<ObservedContainer[]>;
  readImages: () => Promise<ReadonlySet<string>>;
  executors: Executors;
  probe: Prober;
  provider: ModuleEnvironmentProvider;
  edgeHub: EdgeHubDesiredStream;
  events: DeployEvents;
  now: () => number;
  settings: LoopSettings;
  /** Called after every pass (reporting). */
  onPass?: (snapshot: PassSnapshot) => Promise<void>;
}

const MAX_IMMEDIATE_PASSES = 50;

export class ReconcileLoop {
  private target: Target | undefined;
  private readonly incoming: IncomingDesired[] = [];
  private readonly outcomes: Outcomes;
  private stepStats = new Map<string, StepStats>();
  private pulled = new Set<string>();
  private lastPlanKey = '';
  private lastWaitKeys = new Set<string>();
  private wakeUp: (() => void) | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private snapshot: PassSnapshot;

  constructor(private readonly deps: LoopDeps) {
    this.outcomes = new Outcomes(deps.store);
    this.snapshot = {
      target: undefined,
      containers: [],
      waits: [],
      lastDesired: this.outcomes.lastDesired,
      health: [],
    };
  }

  /** The desired version new containers are labelled with. */
  get deploymentLabel(): string {
    return String(this.target?.record.version ?? 0);
  }

  get latest(): PassSnapshot {
    return this.snapshot;
  }

  /** Picks up where the last run left off: the newest desired document, or the last known good. */
  resume(): void {
    const latest = this.deps.store.latestDesired();
    if (!latest) return;
    if (latest.status === 'received' || latest.status === 'applying') {
      this.accept(latest);
      if (this.target) this.deps.events.deploymentResumed(latest.version, 'converging');
      return;
    }
    const record = latest.status === 'succeeded' ? latest : this.deps.store.lastKnownGood();
    if (record) {
      this.setTarget(record, interpretDesired(record.body), 'steady', undefined);
      this.deps.events.deploymentResumed(record.version, 'steady');
    }
  }

  /** Queues a desired document (from the twin or the manifest file) and wakes the loop. */
  submit(doc: IncomingDesired): void {
    this.incoming.push(doc);
    this.wake();
  }

  wake(): void {
    this.wakeUp?.();
  }

  /** Runs `fn` between passes (direct methods must not race a pass). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  async run(signal: AbortSignal): Promise<void> {
    let immediate = 0;
    while (!signal.aborted) {
      let delay: number;
      try {
        delay = await this.exclusive(() => this.pass());
      } catch (e) {
        // A pass that throws (a bug, a full disk) must not stop the agent: the containers keep running.
        this.deps.events.passFailed(e, this.deps.settings.intervalMs);
        delay = this.deps.settings.intervalMs;
      }
      immediate = delay === 0 ? immediate + 1 : 0;
      const wait = delay === 0 && immediate < MAX_IMMEDIATE_PASSES ? 0 : Math.max(delay, 50);
      if (wait > 0 && this.incoming.length === 0) await this.sleep(wait, signal);
    }
  }

  private async sleep(ms: number, signal: AbortSignal): Promise<void> {
    const woken = new Promise<void>((resolve) => {
      this.wakeUp = resolve;
    });
    await Promise.race([woken, sleep(ms, undefined, { signal }).catch(() => undefined)]);
    this.wakeUp = undefined;
  }

  /** One pass; returns how long to wait before the next (0: at once). */
  async pass(): Promise<number> {
    this.takeIncoming();
    const { events, settings } = this.deps;
    let containers: ObservedContainer[];
    let images: ReadonlySet<string>;
    try {
      [containers, images] = await Promise.all([this.deps.readCurrent(), this.deps.readImages()]);
    } catch (e) {
      events.passFailed(e, settings.intervalMs);
      return settings.intervalMs;
    }
    const target = this.target;
    if (!target) {
      await this.publish({ target, containers, waits: [], health: [] });
      return settings.intervalMs;
    }
    const now = this.deps.now();
    const steps = plan(target.modules, containers, {
      now,
      deployment: this.deploymentLabel,
      images,
      pulled: this.pulled,
      stepStats: this.stepStats,
      moduleStats: this.deps.store.moduleStats(),
      settings: settings.plan,
    });
    const waits = steps.filter((s): s is StepOf<'noop'> => s.action === 'noop');
    const actionable = steps.filter((s) => s.action !== 'noop');
    this.logPlan(actionable, waits);

    const blocking = waits.filter((w) => BLOCKING_NOOPS.has(w.reason));
    if (blocking.length > 0 && target.phase !== 'steady' && target.rollbackOf === undefined) {
      this.fail(target, blocking.map((w) => w.detail).join('; '));
      return 0;
    }
    if (actionable.length > 0) {
      await this.execute(actionable);
      await this.publish({ target, containers, waits, health: [] });
      return 0;
    }
    let delay = Math.min(settings.intervalMs, ...waits.map((w) => (w.retryInMs ?? settings.intervalMs) + 20));
    if (
      target.phase === 'converging' &&
      !waits.some((w) => w.reason === 'startup-order' || w.reason === 'retry-wait')
    ) {
      this.enterVerifying(target, now);
    }
    let health: ModuleHealth[] = [];
    if (target.phase === 'verifying') {
      health = await checkHealth(target.modules, containers, this.deps.probe, now, settings.healthStableMs);
      delay = Math.min(delay, settings.verifyIntervalMs);
      if (health.every((h) => h.healthy)) {
        this.succeed(target);
      } else if (now - (target.verifyingSince ?? now) >= settings.healthWindowMs) {
        const bad = health.filter((h) => !h.healthy).map((h) => `'${h.module}': ${h.detail}`);
        this.fail(
          target,
          `modules not healthy within ${Math.round(settings.healthWindowMs / 1000)} s: ${bad.join('; ')}`,
        );
        delay = 0;
      } else events.unhealthy(target.record.version, health);
    }
    await this.publish({ target: this.target, containers, waits, health });
    return delay;
  }

  private enterVerifying(target: Target, now: number): void {
    if (target.rollbackOf !== undefined) {
      target.phase = 'steady';
      return;
    }
    target.phase = 'verifying';
    target.verifyingSince = now;
    this.deps.events.verifying(target.record.version, this.deps.settings.healthWindowMs);
  }

  private async execute(steps: Step[]): Promise<void> {
    const { events, now } = this.deps;
    const skipped = new Set<string>();
    for (const step of steps) {
      const module = moduleOf(step);
      if (module !== undefined && skipped.has(module)) continue;
      const started = now();
      try {
        await runStep(this.deps.executors, step);
        this.stepStats.delete(step.id);
        this.afterStep(step);
        events.stepSucceeded(step, now() - started);
      } catch (e) {
        const failures = (this.stepStats.get(step.id)?.failures ?? 0) + 1;
        this.stepStats.set(step.id, { failures, lastFailureAt: now(), lastError: messageOf(e) });
        const { stepRetryUnitMs, maxStepAttempts } = this.deps.settings.plan;
        events.stepFailed(
          step,
          e,
          failures,
          failures >= maxStepAttempts ? undefined : stepRetryUnitMs * 2 ** (failures - 1),
        );
        if (module !== undefined) skipped.add(module);
        // A failed pull holds back every module: the next pass plans the retry first.
        if (step.action === 'pull') return;
      }
    }
  }

  private afterStep(step: Step): void {
    const { store } = this.deps;
    const desiredId = this.target?.record.id;
    switch (step.action) {
      case 'pull':
        this.pulled.add(normalizeImageRef(step.image));
        return;
      case 'create':
        store.addHistory(step.module.name, 'created', desiredId, step.reason);
        return;
      case 'restart': {
        const count = store.moduleStats().get(step.module)?.restartCount ?? 0;
        store.addHistory(step.module, 'restarted', desiredId, step.reason);
        this.deps.events.moduleRestarted(step, count);
        return;
      }
      case 'start':
        store.addHistory(step.module, 'started', desiredId);
        return;
      case 'stop':
        store.addHistory(step.module, 'stopped', desiredId, step.reason);
        return;
      case 'remove':
        store.addHistory(step.module, 'removed', desiredId, step.reason);
        return;
      case 'noop':
      case 'clearStats':
        return;
    }
  }

  private takeIncoming(): void {
    const { store, events } = this.deps;
    for (const doc of this.incoming.splice(0)) {
      const { record, duplicate } = store.recordDesired(doc);
      if (duplicate) {
        events.desiredUnchanged(record.version);
        continue;
      }
      events.desiredReceived(record.version, record.source);
      this.accept(record);
    }
  }

  /** Interprets a stored desired document; a valid one becomes the target. */
  private accept(record: DesiredRecord): void {
    let deployment: ReturnType<typeof interpretDesired>;
    try {
      deployment = interpretDesired(record.body);
    } catch (e) {
      const status = statusFromError(e);
      this.outcomes.invalid(record, status);
      this.deps.events.desiredInvalid(record.version, status.code, status.description);
      return;
    }
    this.outcomes.applying(record);
    this.setTarget(record, deployment, 'converging', undefined);
    this.deps.events.deploymentStarted(record.version, Object.keys(deployment.edgeAgent.modules), undefined);
  }

  private setTarget(
    record: DesiredRecord,
    deployment: ReturnType<typeof interpretDesired>,
    phase: Phase,
    rollbackOf: number | undefined,
  ): void {
    this.target = {
      record,
      deployment,
      modules: desiredModules(deployment.edgeAgent, this.deps.provider),
      phase,
      ...(rollbackOf !== undefined && { rollbackOf }),
    };
    this.stepStats = new Map();
    this.pulled = new Set();
    if (deployment.edgeHub) {
      this.deps.edgeHub.publish({
        version: record.version,
        edgeHub: deployment.edgeHub,
        moduleTwins: deployment.moduleTwins,
      });
    }
  }

  private succeed(target: Target): void {
    const count = target.modules.length;
    this.outcomes.succeeded(target.record, `${count} module${count === 1 ? '' : 's'} running as desired`);
    target.phase = 'steady';
    this.deps.events.deploymentSucceeded(target.record.version);
  }

  /** Records the failure and rolls back to the last known good deployment, if there is one. */
  private fail(target: Target, reason: string): void {
    const lkg = this.deps.store.lastKnownGood();
    const canRollBack = lkg !== undefined && lkg.id !== target.record.id;
    const description = canRollBack
      ? `${reason}; rolled back to version ${lkg.version}`
      : `${reason}; no earlier deployment to roll back to`;
    this.outcomes.failed(target.record, description);
    this.deps.events.deploymentFailed(target.record.version, 500, description);
    if (canRollBack) {
      this.setTarget(lkg, interpretDesired(lkg.body), 'converging', target.record.version);
      this.deps.events.deploymentStarted(
        lkg.version,
        this.target?.modules.map((m) => m.name) ?? [],
        target.record.version,
      );
    } else {
      target.phase = 'steady';
    }
  }

  private logPlan(actionable: Step[], waits: StepOf<'noop'>[]): void {
    const key = actionable.map((s) => s.id).join(',');
    if (actionable.length > 0 && key !== this.lastPlanKey) this.deps.events.planCreated(actionable);
    this.lastPlanKey = key;
    const waitKeys = new Set(waits.map((w) => w.id));
    for (const w of waits) if (!this.lastWaitKeys.has(w.id)) this.deps.events.moduleWaiting(w);
    this.lastWaitKeys = waitKeys;
  }

  private async publish(partial: Omit<PassSnapshot, 'lastDesired'>): Promise<void> {
    this.snapshot = { ...partial, lastDesired: this.outcomes.lastDesired };
    await this.deps.onPass?.(this.snapshot);
  }
}
