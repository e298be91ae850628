/**
 * Continuous-deployment settings, resolved once each (flags > the spec's `rollout` section >
 * defaults). Pure: flags, the spec and its path come in; a UsageError names what is missing.
 */
import { basename, dirname, extname, resolve } from 'node:path';
import { UsageError } from '../../common/errors.js';
import type { DeploymentSpec } from '../../manifests/index.js';
import { DEFAULT_BASE_IMAGE } from '../package/dockerfile.js';
import { parsePlatform } from '../package/platform.js';
import type { GateSettings } from './gate.js';
import { deploymentStem } from './naming.js';
import type { CycleSettings } from './rollout.js';

export interface WatchFlags {
  gate?: string;
  gateTimeout?: string;
  imageRepo?: string;
  platform?: string;
  baseImage?: string;
  targetCondition?: string;
  priority?: string;
  layered?: boolean;
  removePrevious?: boolean;
  interval?: string;
}

export const DEFAULT_INTERVAL_S = 5;
export const DEFAULT_PRIORITY = 10;
export const DEFAULT_GATE_TIMEOUT_S = 600;

function seconds(text: string | undefined, option: string, fallback: number): number {
  if (text === undefined) return fallback * 1000;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new UsageError('NUMBER_INVALID', `${option} '${text}' must be a positive number of seconds`);
  }
  return Math.round(n * 1000);
}

export function intervalMs(flags: WatchFlags): number {
  return seconds(flags.interval, '--interval', DEFAULT_INTERVAL_S);
}

/** Packaging and gate settings for one cycle (the spec may change while watching). */
export function cycleSettings(
  flags: WatchFlags,
  spec: DeploymentSpec,
  specPath: string,
  cwd: string,
): CycleSettings {
  const rollout = spec.rollout ?? {};
  const platform = parsePlatform(flags.platform ?? rollout.platform ?? 'linux/amd64').platform;
  const repository = flags.imageRepo ?? rollout.imageRepository;
  if (
    repository !== undefined &&
    (/[\s@]/.test(repository) || repository.endsWith(':') || repository === '')
  ) {
    throw new UsageError(
      'IMAGE_REPO_INVALID',
      `image repository '${repository}' must be REGISTRY/REPOSITORY without tag`,
    );
  }
  const script =
    flags.gate !== undefined
      ? resolve(cwd, flags.gate)
      : rollout.gate && resolve(dirname(specPath), rollout.gate);
  const gate: GateSettings | undefined =
    script === undefined
      ? undefined
      : { script, timeoutMs: seconds(flags.gateTimeout, '--gate-timeout', DEFAULT_GATE_TIMEOUT_S) };
  return {
    packaging: {
      ...(repository !== undefined && { repository }),
      platform,
      baseImage: flags.baseImage ?? rollout.baseImage ?? DEFAULT_BASE_IMAGE,
    },
    gate,
  };
}

export interface HubRollout {
  stem: string;
  targetCondition: string;
  basePriority: number;
  layered: boolean;
  removePrevious: boolean;
}

/** The IoT Hub deployment settings (read at start: they name the target). */
export function hubRollout(flags: WatchFlags, spec: DeploymentSpec, specPath: string): HubRollout {
  const rollout = spec.rollout ?? {};
  const targetCondition = flags.targetCondition ?? rollout.targetCondition;
  if (targetCondition === undefined || targetCondition.trim() === '') {
    throw new UsageError(
      'TARGET_CONDITION_MISSING',
      'deploying through IoT Hub needs a target condition: --target-condition, or rollout.targetCondition in the spec',
      { hint: 'e.g. --target-condition "tags.environment=\'prod\'"' },
    );
  }
  let basePriority = rollout.priority ?? DEFAULT_PRIORITY;
  if (flags.priority !== undefined) {
    basePriority = Number(flags.priority);
    if (!Number.isInteger(basePriority) || basePriority < 0) {
      throw new UsageError(
        'PRIORITY_INVALID',
        `--priority '${flags.priority}' must be a non-negative integer`,
      );
    }
  }
  return {
    stem: deploymentStem(spec.name ?? basename(specPath, extname(specPath))),
    targetCondition,
    basePriority,
    layered: flags.layered ?? rollout.layered ?? false,
    removePrevious: flags.removePrevious ?? rollout.removePrevious ?? false,
  };
}
