/**
 * The rollout planner: `planRollout(input) → plan`, synchronous and free of I/O. It resolves every
 * model reference of the spec against the registry (`name:latest` follows new versions, `name:N`
 * stays pinned), asks for the gate's verdict on a new version it has not judged, and says what must
 * happen for the target to hold the result:
 *
 *   gate* → package* → generate → apply
 *
 * Gate steps come first; the rest of the plan assumes they accept, and the runner plans again after
 * them. A version the gate rejected is not deployed (nor asked about again); the reference falls
 * back to the newest accepted version, or to the one deployed now. The same resolved rollout never
 * deploys twice: its key (resolved spec + model digests + target settings) equal to the last one
 * applied to the target means `unchanged`, unless the target drifted (then it is applied again,
 * without packaging).
 */
import { canonicalJson, sha256Hex } from '../../common/canonical-json.js';
import type { DeploymentSpec, ModuleSpec } from '../../manifests/index.js';
import { parseModelRef } from '../registry/model-ref.js';
import { imageTagFor } from './naming.js';
import type {
  GateDecision,
  ModelVersion,
  PackagedImageFacts,
  PlanNote,
  PlannedRollout,
  ResolvedModel,
  RolloutInput,
  RolloutPlan,
  RolloutStep,
  RolloutStepOf,
} from './types.js';

const refKey = (m: { name: string; version: number }) => `${m.name}:${m.version}`;

type Resolution =
  | { kind: 'ok'; model: ModelVersion; pendingGate: boolean }
  | { kind: 'missing'; message: string };

/** The version a reference stands for now, and whether the gate must still judge it. */
function resolveRef(text: string, module: string, input: RolloutInput, notes: PlanNote[]): Resolution {
  const ref = parseModelRef(text);
  const versions = input.registry.versions.get(ref.name) ?? [];
  if (ref.version !== 'latest') {
    const pinned = versions.find((v) => v.version === ref.version);
    return pinned
      ? { kind: 'ok', model: pinned, pendingGate: false }
      : { kind: 'missing', message: `model ${text} is not registered` };
  }
  const newest = versions.at(-1);
  if (!newest) return { kind: 'missing', message: `no model named '${ref.name}' is registered` };
  if (!input.gate.enabled) return { kind: 'ok', model: newest, pendingGate: false };
  const decision = input.gate.decisions.get(refKey(newest));
  const deployed = input.deployed?.models.find((m) => m.name === ref.name && m.module === module);
  if (decision?.accepted || (!decision && deployed?.version === newest.version)) {
    return { kind: 'ok', model: newest, pendingGate: false };
  }
  if (!decision) return { kind: 'ok', model: newest, pendingGate: true };
  notes.push({
    kind: 'rejected',
    module,
    message: `${refKey(newest)} was rejected by the gate: ${decision.detail}`,
  });
  const fallback = newestAccepted(versions, input.gate.decisions, deployed);
  if (!fallback) {
    return {
      kind: 'missing',
      message: `${text}: no version of '${ref.name}' was accepted by the gate`,
    };
  }
  notes.push({ kind: 'kept', module, message: `module '${module}' stays on ${refKey(fallback)}` });
  return { kind: 'ok', model: fallback, pendingGate: false };
}

/** The newest version the gate accepted, or the one deployed now (still registered). */
function newestAccepted(
  versions: readonly ModelVersion[],
  decisions: ReadonlyMap<string, GateDecision>,
  deployed: ModelVersion | undefined,
): ModelVersion | undefined {
  const still = deployed && versions.find((v) => v.version === deployed.version);
  for (const v of [...versions].reverse()) {
    if (decisions.get(refKey(v))?.accepted || v === still) return v;
  }
  return undefined;
}

const sameModels = (image: PackagedImageFacts, models: readonly ModelVersion[]) =>
  canonicalJson([...image.models].map((m) => [m.name, m.version, m.digest]).sort()) ===
  canonicalJson([...models].map((m) => [m.name, m.version, m.digest]).sort());

export function planRollout(input: RolloutInput): RolloutPlan {
  const notes: PlanNote[] = [];
  const pending = new Map<string, { model: ModelVersion; modules: string[] }>();
  const models: ResolvedModel[] = [];
  const images: Record<string, string> = {};
  const modules: Record<string, ModuleSpec> = {};
  const packaging = new Map<string, { modules: string[]; models: ModelVersion[] }>();
  let missing = false;

  for (const [name, mod] of Object.entries(input.spec.modules)) {
    const resolved: ModelVersion[] = [];
    for (const text of mod.models ?? []) {
      const r = resolveRef(text, name, input, notes);
      if (r.kind === 'missing') {
        notes.push({ kind: 'missing', module: name, message: r.message });
        missing = true;
        continue;
      }
      resolved.push(r.model);
      models.push({ module: name, ...r.model });
      if (r.pendingGate) {
        const key = refKey(r.model);
        const entry = pending.get(key) ?? { model: r.model, modules: [] };
        entry.modules.push(name);
        pending.set(key, entry);
      }
    }
    let image = mod.image;
    if (image === undefined && resolved.length > 0 && input.packaging.repository !== undefined) {
      image = `${input.packaging.repository}:${imageTagFor(resolved, input.packaging.platform)}`;
      const pushed = input.registry.packaged.some(
        (p) =>
          p.image === image &&
          p.digest !== null &&
          p.platform === input.packaging.platform &&
          sameModels(p, resolved),
      );
      if (!pushed) {
        const entry = packaging.get(image) ?? { modules: [], models: resolved };
        entry.modules.push(name);
        packaging.set(image, entry);
      }
    }
    if (image !== undefined) images[name] = image;
    modules[name] = {
      ...mod,
      ...(mod.models && { models: resolved.map(refKey) }),
      ...(image !== undefined && { image }),
    };
  }
  if (missing) return { status: 'blocked', steps: [], rollout: undefined, notes };

  const { rollout: _settings, ...rest } = input.spec;
  const spec: DeploymentSpec = { ...input.spec, modules };
  const key = sha256Hex(
    canonicalJson({
      spec: { ...rest, modules },
      digests: models.map((m) => [m.module, m.name, m.version, m.digest]).sort(),
      target: {
        kind: input.target.kind,
        targetCondition: input.target.targetCondition,
        layered: input.target.layered,
      },
    }),
  );
  const rollout: PlannedRollout = { key, models, images, spec };
  if (input.deployed?.key === key && !input.drifted) {
    return { status: 'unchanged', steps: [], rollout, notes };
  }
  const steps: RolloutStep[] = [
    ...[...pending.values()].map(
      (p): RolloutStepOf<'gate'> => ({ action: 'gate', id: `gate:${refKey(p.model)}`, ...p }),
    ),
    ...[...packaging].map(
      ([image, p]): RolloutStepOf<'package'> => ({
        action: 'package',
        id: `package:${image}`,
        image,
        platform: input.packaging.platform,
        baseImage: input.packaging.baseImage,
        ...p,
      }),
    ),
    { action: 'generate', id: `generate:${key.slice(0, 12)}`, rollout },
    { action: 'apply', id: `apply:${key.slice(0, 12)}`, rollout },
  ];
  return { status: 'rollout', steps, rollout, notes };
}

/** `package:reg/scoring:m-v2 (for scoring)`: a step with what it is for, for plans and logs. */
export function describeRolloutStep(step: RolloutStep): string {
  switch (step.action) {
    case 'gate':
      return `gate ${refKey(step.model)} (${step.model.digest.slice(0, 19)}…) for ${step.modules.join(', ')}`;
    case 'package':
      return `package ${step.models.map(refKey).join(', ')} into ${step.image} and push it`;
    case 'generate':
      return `generate the manifest (${step.rollout.models.map((m) => `${m.module}: ${refKey(m)}`).join(', ')})`;
    case 'apply':
      return `apply rollout ${step.rollout.key.slice(0, 12)}`;
  }
}
