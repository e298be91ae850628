/**
 * cloud/watch: continuous deployment. When a new version of a model a deployment spec references is
 * registered (and a gate accepts it), package and push its image, generate the manifest, and apply it
 * to a manifest file (offline agents) or an IoT Hub deployment — idempotently, never half-applied.
 */
export {
  type AtomicWriteOptions,
  type AtomicWriteResult,
  writeFailure,
  writeFileAtomic,
} from './atomic-file.js';
export { localEffects } from './effects.js';
export { type WatchEvent, type WatchEvents, type WatchSink, watchEvents } from './events.js';
export { checkGate, type GateSettings, type GateVerdict, runGate } from './gate.js';
export { deploymentIdFor, deploymentStem, imageTagFor, nextPriority, retryDelayMs } from './naming.js';
export { describeRolloutStep, planRollout } from './plan.js';
export {
  type CycleDeps,
  type CycleOutcome,
  type CycleSettings,
  type LoadedSpec,
  type RolloutEffects,
  RolloutStepError,
  type RolloutSummary,
  referencedNames,
  runCycle,
  specReader,
} from './rollout.js';
export { cycleSettings, type HubRollout, hubRollout, intervalMs, type WatchFlags } from './settings.js';
export { WatchState } from './state.js';
export {
  DEFAULT_LOCK_WAIT_MS,
  type HoldOptions,
  holdTarget,
  LEASE_TTL_MS,
  type LeaseHolder,
  TargetLocks,
  type TargetLocksOptions,
} from './target-lock.js';
export {
  type AppliedTarget,
  HubDeploymentTarget,
  ManifestFileTarget,
  ROLLOUT_LABEL,
  type RolloutTarget,
  WATCH_LABEL,
} from './targets.js';
export type * from './types.js';
export { DEFAULT_RETRY, type RetrySettings, type WatchSummary, watchLoop } from './watcher.js';
