/**
 * Fixture builders for planner tests (balena's state-helper): desired modules, containers as Docker
 * would report them, a plan context, and `expectSteps` to count steps of one action.
 */
import { expect } from 'vitest';
import { normalizeImageRef, specHash, specParts } from '../../agent/reconcile/spec.js';
import type {
  Action,
  CurrentContainer,
  DesiredModule,
  ModuleStats,
  PlanContext,
  PlanSettings,
  Step,
  StepStats,
} from '../../agent/reconcile/types.js';
import { DEFAULT_STARTUP_ORDER } from '../../manifests/index.js';

/** A fixed "now" for planner tests: 2030-01-01T00:00:00Z. */
export const NOW = Date.UTC(2030, 0, 1);

export const TEST_SETTINGS: PlanSettings = {
  coolOffUnitMs: 10_000,
  maxCoolOffMs: 300_000,
  maxRestarts: 20,
  stableResetMs: 600_000,
  stepRetryUnitMs: 1_000,
  maxStepAttempts: 5,
};

/** A desired module: running, restartPolicy always, image `registry.test/<name>:1`. */
export function mod(name: string, overrides: Partial<Omit<DesiredModule, 'name'>> = {}): DesiredModule {
  return {
    name,
    image: `registry.test/${name}:1`,
    createOptions: {},
    env: {},
    binds: [],
    version: '1.0',
    status: 'running',
    restartPolicy: 'always',
    startupOrder: DEFAULT_STARTUP_ORDER,
    imagePullPolicy: 'on-create',
    ...overrides,
  };
}

export function desired(...modules: DesiredModule[]): DesiredModule[] {
  return modules;
}

let nextId = 1;

/**
 * A container the agent created for `m` (same spec unless `overrides` say otherwise), running since
 * a minute before NOW. Pass `spec` to make it the container of an older version of the module.
 */
export function container(
  m: DesiredModule,
  overrides: Partial<CurrentContainer> = {},
  spec: DesiredModule = m,
): CurrentContainer {
  const id = overrides.id ?? `${String(nextId++).padStart(4, '0')}${m.name}`.padEnd(64, 'c');
  return {
    id,
    module: m.name,
    deployment: '1',
    specHash: specHash(spec),
    specParts: specParts(spec),
    image: spec.image,
    imageId: `sha256:${'a'.repeat(64)}`,
    state: 'running',
    exitCode: 0,
    startedAt: NOW - 60_000,
    finishedAt: undefined,
    createdAt: NOW - 120_000,
    health: 'none',
    ...overrides,
  };
}

/** An exited container: `exitCode`, finished `agoMs` before NOW. */
export function exited(
  m: DesiredModule,
  exitCode: number,
  agoMs: number,
  overrides: Partial<CurrentContainer> = {},
) {
  return container(m, { state: 'exited', exitCode, finishedAt: NOW - agoMs, ...overrides });
}

export function current(...containers: CurrentContainer[]): CurrentContainer[] {
  return containers;
}

export interface CtxOptions {
  now?: number;
  /** Images on the engine (default: every image of `pulledFor`). */
  images?: string[];
  /** Modules whose images count as pulled for this deployment (default: none). */
  pulledFor?: DesiredModule[];
  stepStats?: Record<string, StepStats>;
  moduleStats?: Record<string, Partial<ModuleStats>>;
  settings?: Partial<PlanSettings>;
}

export function ctx(options: CtxOptions = {}): PlanContext {
  const pulled = (options.pulledFor ?? []).map((m) => normalizeImageRef(m.image));
  return {
    now: options.now ?? NOW,
    deployment: '2',
    images: new Set((options.images ?? pulled).map(normalizeImageRef)),
    pulled: new Set(pulled),
    stepStats: new Map(Object.entries(options.stepStats ?? {})),
    moduleStats: new Map(
      Object.entries(options.moduleStats ?? {}).map(([k, v]) => [
        k,
        { restartCount: 0, lastRestartAt: undefined, stoppedByAgent: false, ...v },
      ]),
    ),
    settings: { ...TEST_SETTINGS, ...options.settings },
  };
}

/** Asserts how many steps of `action` there are (between min and max, default exactly min). */
export function expectSteps<K extends Action>(
  steps: Step[],
  action: K,
  min = 1,
  max = min,
): Extract<Step, { action: K }>[] {
  const matching = steps.filter((s): s is Extract<Step, { action: K }> => s.action === action);
  expect(
    matching.length,
    `${action} steps in ${JSON.stringify(steps.map((s) => s.id))}`,
  ).toBeGreaterThanOrEqual(min);
  expect(matching.length, `${action} steps in ${JSON.stringify(steps.map((s) => s.id))}`).toBeLessThanOrEqual(
    max,
  );
  return matching;
}

/** The ordered step ids: what planner tests assert. */
export const ids = (steps: Step[]): string[] => steps.map((s) => s.id);

/** The 12-character prefix ids use for hashes and container ids. */
export const short = (s: string): string => s.slice(0, 12);
