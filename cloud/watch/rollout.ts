/**
 * One cycle of continuous deployment: read the spec, the registry and what the target holds; plan;
 * ask the gate about new versions (then plan again with its verdicts); package, generate, apply; and
 * record the rollout. Steps run in order and the first failure ends the cycle, so nothing is half
 * applied: the manifest file is written, or the IoT Hub deployment created, only after every image
 * is pushed and the manifest generated; the rollout is recorded only after it was applied.
 */
import { readFile, stat } from 'node:fs/promises';
import { sha256Hex } from '../../common/canonical-json.js';
import { ModelportError } from '../../common/errors.js';
import type { DeploymentSpec } from '../../manifests/index.js';
import type { GeneratedManifest } from '../manifest/generate.js';
import { parseModelRef } from '../registry/model-ref.js';
import type { WatchEvents } from './events.js';
import type { GateSettings, GateVerdict } from './gate.js';
import { planRollout } from './plan.js';
import type { WatchState } from './state.js';
import type { AppliedTarget, RolloutTarget } from './targets.js';
import type {
  GateDecision,
  ModelVersion,
  PackagingFacts,
  PlanNote,
  PlannedRollout,
  RolloutPlan,
  RolloutRecord,
  RolloutStep,
  RolloutStepOf,
} from './types.js';

/** The effects a cycle needs; effects.ts has the real ones (gate script, packager, manifest generator). */
export interface RolloutEffects {
  gate(gate: GateSettings, model: ModelVersion): Promise<GateVerdict>;
  package(step: RolloutStepOf<'package'>): Promise<void>;
  generate(rollout: PlannedRollout): Promise<GeneratedManifest>;
}

/** Settings that come from the spec (its `rollout` section) and flags, resolved again each cycle. */
export interface CycleSettings {
  packaging: PackagingFacts;
  gate: GateSettings | undefined;
}

export interface LoadedSpec {
  spec: DeploymentSpec;
  /** sha256 of the file's bytes. */
  hash: string;
}

export interface CycleDeps {
  specPath: string;
  readSpec(): Promise<LoadedSpec>;
  settingsFor(spec: DeploymentSpec): CycleSettings;
  state: WatchState;
  target: RolloutTarget;
  effects: RolloutEffects;
  events: WatchEvents;
  /**
   * Takes the target's lease (target-lock.ts) for one cycle, waiting while another runner holds it;
   * resolves with its release. Dry runs change nothing and take no lease.
   */
  holdTarget?: () => Promise<() => void>;
}

/** A rollout as reported: its key, model versions and images, without the spec. */
export interface RolloutSummary {
  key: string;
  models: { module: string; model: string; digest: string }[];
  images: Record<string, string>;
}

export type CycleOutcome =
  | {
      outcome: 'deployed';
      rollout: RolloutSummary;
      applied: AppliedTarget;
      record: RolloutRecord;
      gate: GateDecision[];
      notes: PlanNote[];
    }
  | {
      outcome: 'unchanged' | 'rejected';
      rollout: RolloutSummary | undefined;
      gate: GateDecision[];
      notes: PlanNote[];
    }
  | { outcome: 'blocked'; gate: GateDecision[]; notes: PlanNote[] }
  | {
      outcome: 'planned';
      status: RolloutPlan['status'];
      steps: { id: string; action: string }[];
      rollout: RolloutSummary | undefined;
      notes: PlanNote[];
    };

/** A step that failed, with the step's id; `cause` is the error the step threw. */
export class RolloutStepError extends ModelportError {
  constructor(
    readonly step: string,
    cause: unknown,
  ) {
    const inner = cause instanceof ModelportError ? cause : undefined;
    super(
      inner?.code ?? 'WATCH_STEP_FAILED',
      `${step} failed: ${(cause as Error).message ?? String(cause)}`,
      {
        exitCode: inner?.exitCode ?? 1,
        ...(inner?.hint && { hint: inner.hint }),
        details: { step },
        cause,
      },
    );
  }
}

const MAX_ROUNDS = 4;

export function summarize(rollout: PlannedRollout): RolloutSummary {
  return {
    key: rollout.key,
    models: rollout.models.map((m) => ({
      module: m.module,
      model: `${m.name}:${m.version}`,
      digest: m.digest,
    })),
    images: rollout.images,
  };
}

/** The model names a spec references. */
export function referencedNames(spec: DeploymentSpec): string[] {
  return [
    ...new Set(
      Object.values(spec.modules).flatMap((m) => (m.models ?? []).map((t) => parseModelRef(t).name)),
    ),
  ];
}

async function plan(deps: CycleDeps, settings: CycleSettings, loaded: LoadedSpec): Promise<RolloutPlan> {
  const { state, target } = deps;
  const deployed = state.lastRollout(target.facts.key);
  return planRollout({
    spec: loaded.spec,
    registry: state.snapshot(referencedNames(loaded.spec)),
    gate: { enabled: settings.gate !== undefined, decisions: state.decisions(target.facts.key) },
    deployed,
    drifted: await target.drifted(deployed),
    target: target.facts,
    packaging: settings.packaging,
  });
}

async function step<T>(deps: CycleDeps, s: RolloutStep, run: () => Promise<T>): Promise<T> {
  deps.events.stepStarted(s);
  const started = Date.now();
  try {
    const out = await run();
    deps.events.stepSucceeded(s, Date.now() - started);
    return out;
  } catch (e) {
    deps.events.stepFailed(s.id, e);
    throw new RolloutStepError(s.id, e);
  }
}

export async function runCycle(deps: CycleDeps, options: { dryRun?: boolean } = {}): Promise<CycleOutcome> {
  const release = options.dryRun ? undefined : await deps.holdTarget?.();
  try {
    return await cycle(deps, options);
  } finally {
    release?.();
  }
}

async function cycle(deps: CycleDeps, options: { dryRun?: boolean }): Promise<CycleOutcome> {
  const { events, state, target } = deps;
  const decided: GateDecision[] = [];
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const spec = await deps.readSpec();
    const settings = deps.settingsFor(spec.spec);
    const p = await plan(deps, settings, spec);
    if (round === 0 || options.dryRun) for (const n of p.notes) events.noted(n);
    if (options.dryRun) {
      return {
        outcome: 'planned',
        status: p.status,
        steps: p.steps.map((s) => ({ id: s.id, action: s.action })),
        rollout: p.rollout && summarize(p.rollout),
        notes: p.notes,
      };
    }
    if (p.status === 'blocked') {
      events.blocked(p.notes);
      return { outcome: 'blocked', gate: decided, notes: p.notes };
    }
    if (p.status === 'unchanged') {
      const rejected = decided.some((d) => !d.accepted);
      if (!rejected) events.unchanged(p.rollout?.key ?? '', target.description);
      return {
        outcome: rejected ? 'rejected' : 'unchanged',
        rollout: p.rollout && summarize(p.rollout),
        gate: decided,
        notes: p.notes,
      };
    }
    const gates = p.steps.filter((s): s is RolloutStepOf<'gate'> => s.action === 'gate');
    if (gates.length > 0 && settings.gate) {
      for (const g of gates) {
        const gate = settings.gate;
        const verdict = await step(deps, g, () => deps.effects.gate(gate, g.model));
        const decision = state.recordDecision(target.facts.key, { ...g.model, ...verdict });
        events.gateDecided(decision);
        decided.push(decision);
      }
      continue; // plan again with the verdicts
    }
    events.planned(p.steps);
    let manifest: GeneratedManifest | undefined;
    let applied: AppliedTarget | undefined;
    for (const s of p.steps) {
      switch (s.action) {
        case 'gate':
          break;
        case 'package':
          await step(deps, s, () => deps.effects.package(s));
          break;
        case 'generate':
          manifest = await step(deps, s, () => deps.effects.generate(s.rollout));
          for (const w of manifest.warnings) events.warned(w);
          break;
        case 'apply': {
          const generated = manifest;
          if (!generated) throw new ModelportError('WATCH_PLAN_INVALID', 'apply planned before generate');
          applied = await step(deps, s, () => target.apply(generated.manifest, s.rollout));
          for (const w of applied.warnings) events.warned(w);
          break;
        }
      }
    }
    const rollout = p.rollout;
    if (!rollout || !applied) throw new ModelportError('WATCH_PLAN_INVALID', 'a rollout plan without apply');
    const record = state.recordRollout({
      target: target.facts.key,
      key: rollout.key,
      specPath: deps.specPath,
      specHash: spec.hash,
      models: rollout.models,
      images: Object.fromEntries((manifest?.modules ?? []).map((m) => [m.name, m.image])),
      ...(applied.deploymentId !== undefined && { deploymentId: applied.deploymentId }),
      ...(applied.priority !== undefined && { priority: applied.priority }),
      ...(applied.manifestDigest !== undefined && { manifestDigest: applied.manifestDigest }),
    });
    events.deployed(record, applied, target.description);
    return {
      outcome: 'deployed',
      rollout: summarize(rollout),
      applied,
      record,
      gate: decided,
      notes: p.notes,
    };
  }
  throw new ModelportError(
    'WATCH_PLAN_UNSTABLE',
    `the plan kept asking for gate verdicts after ${MAX_ROUNDS} rounds`,
  );
}

/** Reads the spec, parsing it again only when the file changed (size or mtime). */
export function specReader(path: string, parse: (text: string) => DeploymentSpec): () => Promise<LoadedSpec> {
  let cached: { token: string; loaded: LoadedSpec } | undefined;
  return async () => {
    const info = await stat(path);
    const token = `${info.mtimeMs}:${info.size}`;
    if (cached?.token === token) return cached.loaded;
    const text = await readFile(path);
    const loaded = { spec: parse(text.toString('utf8').replace(/^\uFEFF/, '')), hash: sha256Hex(text) };
    cached = { token, loaded };
    return loaded;
  };
}
