/**
 * The spec hash: one canonical-JSON hash of what defines a module's container, shared by the planner
 * (is the container up to date?) and the create executor (which labels it), so they cannot disagree.
 */
import { canonicalJson, sha256Hex } from '../../common/canonical-json.js';
import type { DesiredModule, SpecParts } from './types.js';

const short = (value: unknown): string => sha256Hex(canonicalJson(value)).slice(0, 16);

export function specParts(m: DesiredModule): SpecParts {
  return {
    image: m.image,
    env: short(m.env),
    createOptions: short({ createOptions: m.createOptions, binds: m.binds }),
    version: m.version,
  };
}

export function specHash(m: DesiredModule): string {
  return sha256Hex(canonicalJson({ name: m.name, ...specParts(m) }));
}

/** Parses the `modelport.spec-parts` label; undefined when absent or not ours. */
export function parseSpecParts(label: string | undefined): SpecParts | undefined {
  if (label === undefined) return undefined;
  try {
    const v = JSON.parse(label) as Partial<SpecParts>;
    if ([v.image, v.env, v.createOptions, v.version].every((x) => typeof x === 'string'))
      return v as SpecParts;
  } catch {
    // A label someone edited by hand: treat the spec as unknown, which recreates the container.
  }
  return undefined;
}

/** Why a container with `old` parts must be recreated for `next`: `image a → b, env changed`. */
export function recreateReason(old: SpecParts | undefined, next: SpecParts): string {
  if (!old) return 'container spec unknown (no spec label)';
  const reasons: string[] = [];
  if (old.image !== next.image) reasons.push(`image ${old.image} → ${next.image}`);
  if (old.version !== next.version)
    reasons.push(`version ${old.version || '(none)'} → ${next.version || '(none)'}`);
  if (old.env !== next.env) reasons.push('env changed');
  if (old.createOptions !== next.createOptions) reasons.push('createOptions changed');
  return reasons.length > 0 ? reasons.join(', ') : 'container spec changed';
}

/**
 * `node` → `node:latest`; `docker.io/library/node:20` → `node:20`; digests kept. Docker lists local
 * images by these short names, so both sides of a comparison go through here.
 */
export function normalizeImageRef(ref: string): string {
  let r = ref.trim();
  for (const prefix of ['docker.io/library/', 'index.docker.io/library/', 'docker.io/', 'index.docker.io/']) {
    if (r.startsWith(prefix)) {
      r = r.slice(prefix.length);
      break;
    }
  }
  if (r.includes('@')) return r;
  const lastSlash = r.lastIndexOf('/');
  return r.slice(lastSlash + 1).includes(':') ? r : `${r}:latest`;
}
