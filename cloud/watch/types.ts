/**
 * The vocabulary of continuous deployment (`modelport watch`), as plain data: what the registry
 * holds, what was rolled out where, what a gate decided, and the steps of a rollout. The planner
 * (plan.ts) maps these to steps without I/O; rollout.ts runs them.
 */
import type { DeploymentSpec } from '../../manifests/index.js';

/** One registered model version, as far as a rollout cares. */
export interface ModelVersion {
  name: string;
  version: number;
  /** `sha256:…` over the model's files. */
  digest: string;
}

/** A model version a module serves in a rollout. */
export interface ResolvedModel extends ModelVersion {
  module: string;
}

/** An image `modelport package` recorded (registry table packaged_images). */
export interface PackagedImageFacts {
  image: string;
  /** Registry digest after a push; null when the image was only built. */
  digest: string | null;
  platform: string;
  models: readonly ModelVersion[];
}

/** What the registry holds for the model names a spec references. */
export interface RegistrySnapshot {
  /** Every registered version of each referenced name, oldest first. */
  versions: ReadonlyMap<string, readonly ModelVersion[]>;
  packaged: readonly PackagedImageFacts[];
}

export interface GateDecision extends ModelVersion {
  accepted: boolean;
  /** Why (the gate's last output line, or its exit code). */
  detail: string;
  decidedAt: string;
}

/** One rollout applied to a target (table watch_rollouts). */
export interface RolloutRecord {
  target: string;
  /** Identity of what was rolled out: the resolved spec, model digests and target settings. */
  key: string;
  specPath: string;
  specHash: string;
  models: ResolvedModel[];
  /** Image per module. */
  images: Record<string, string>;
  deploymentId?: string;
  priority?: number;
  /** sha256 of the manifest file as written (file targets). */
  manifestDigest?: string;
  appliedAt: string;
}

export type TargetKind = 'file' | 'hub';

/** The target settings that change what a rollout is (and so its key). */
export interface TargetFacts {
  kind: TargetKind;
  /** State and gate decisions are kept per target: `file:/abs/path` or `hub:<host>/<deployment>`. */
  key: string;
  targetCondition?: string;
  layered?: boolean;
}

export interface PackagingFacts {
  /** Where new images go; without it, modules use images packaged by hand (or their `image:`). */
  repository?: string;
  platform: 'linux/amd64' | 'linux/arm64';
  baseImage: string;
}

export interface RolloutInput {
  spec: DeploymentSpec;
  registry: RegistrySnapshot;
  gate: { enabled: boolean; decisions: ReadonlyMap<string, GateDecision> };
  /** The last rollout applied to this target. */
  deployed: RolloutRecord | undefined;
  /** The target no longer holds what was applied (a manifest file edited or deleted). */
  drifted: boolean;
  target: TargetFacts;
  packaging: PackagingFacts;
}

/** What a rollout deploys: one line per module's model, the images, and the identity of it all. */
export interface PlannedRollout {
  key: string;
  models: ResolvedModel[];
  /** Image per module; absent for a module whose image the manifest generator looks up. */
  images: Record<string, string>;
  spec: DeploymentSpec;
}

export interface RolloutStepArgs {
  /** Ask the gate about a new version (the rest of the plan assumes it accepts). */
  gate: { model: ModelVersion; modules: string[] };
  /** Build and push the image of these model versions (skipped when it was pushed before). */
  package: { modules: string[]; models: ModelVersion[]; image: string; platform: string; baseImage: string };
  /** Spec (pinned to the resolved versions and images) + registry → manifest. */
  generate: { rollout: PlannedRollout };
  /** Write the manifest file, or create the IoT Hub deployment. */
  apply: { rollout: PlannedRollout };
}

export type RolloutAction = keyof RolloutStepArgs;
export type RolloutStepOf<K extends RolloutAction> = { action: K; id: string } & RolloutStepArgs[K];
export type RolloutStep = { [K in RolloutAction]: RolloutStepOf<K> }[RolloutAction];

export interface PlanNote {
  kind: 'missing' | 'rejected' | 'kept';
  module: string;
  message: string;
}

export interface RolloutPlan {
  /** `unchanged`: the target holds this already; `blocked`: nothing deployable; `rollout`: run `steps`. */
  status: 'unchanged' | 'blocked' | 'rollout';
  steps: RolloutStep[];
  rollout: PlannedRollout | undefined;
  notes: PlanNote[];
}
