/**
 * Names derived from what is deployed, so the same models always get the same names (and packaging
 * and deploying are idempotent): image tags from model versions, IoT Hub deployment ids from the
 * spec's name and the rollout key.
 */
import { sha256Hex } from '../../common/canonical-json.js';
import type { ModelVersion } from './types.js';

const MAX_TAG = 128;

/**
 * `regression10-v3`; several models `a-v1.b-v2` (sorted by name); `-arm64` for arm64 images. Model
 * names are letters, digits, `.`, `_`, `-` starting with a letter or digit, so the tag is valid; one
 * over 128 characters becomes `models-<hash>`.
 */
export function imageTagFor(models: readonly ModelVersion[], platform: string): string {
  const sorted = [...models].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const suffix = platform === 'linux/amd64' ? '' : `-${platform.split('/')[1] ?? 'other'}`;
  const tag = sorted.map((m) => `${m.name}-v${m.version}`).join('.') + suffix;
  if (tag.length <= MAX_TAG) return tag;
  return `models-${sha256Hex(tag).slice(0, 16)}${suffix}`;
}

/** An IoT Hub deployment id stem from the spec's name: lowercase letters, digits and `-`, at most 100. */
export function deploymentStem(name: string): string {
  const stem = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 100);
  return stem === '' ? 'modelport' : stem;
}

/** IoT Hub configurations cannot change content: each rollout is a new deployment `<stem>-<key>`. */
export function deploymentIdFor(stem: string, key: string): string {
  return `${stem}-${key.slice(0, 12)}`;
}

/**
 * The priority of the rollout `id` among the deployments of the same watch: one above every other,
 * and at least `base`. A deployment that already wins keeps its priority (applying it again changes
 * nothing).
 */
export function nextPriority(
  ours: readonly { id: string; priority: number }[],
  id: string,
  base: number,
): number {
  const others = ours.filter((c) => c.id !== id).map((c) => c.priority);
  const top = Math.max(base - 1, ...others);
  const existing = ours.find((c) => c.id === id);
  return existing && existing.priority > top ? existing.priority : top + 1;
}

/** Retry delay after `failures` consecutive failed attempts: min(base·2^(n-1), max). */
export function retryDelayMs(failures: number, baseMs: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, failures - 1), maxMs);
}
