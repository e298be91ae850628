/**
 * A spec module's `resources` and `ports` as Docker create options, merged with the module's own raw
 * `createOptions`. The units follow Azure ML's deployment configuration (`containerResourceRequirements`:
 * `cpu` in cores, `memoryInGB`) mapped the way `docker run --cpus/--memory` maps them:
 * - cpu → HostConfig.NanoCpus = cpu × 10⁹ (`--cpus 1.5` is NanoCpus 1500000000);
 * - memoryInGB → HostConfig.Memory in bytes, reading GB as GiB (1024³), as Docker's `--memory 1g` and
 *   Azure's container memory sizes do: 0.5 → 536870912;
 * - ports → ExposedPorts {"P/tcp": {}} and HostConfig.PortBindings {"P/tcp": [{"HostPort": "H"}]}.
 * Where the raw createOptions set the same field, the raw value wins and the override is reported.
 */
import { canonicalJson } from '../../common/canonical-json.js';
import type { CreateOptions, ModuleSpec } from '../../manifests/index.js';

export const NANO_CPUS_PER_CPU = 1e9;
export const BYTES_PER_GB = 1024 ** 3;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Create options generated from `resources` and `ports`, with the spec field each came from. */
export function generatedCreateOptions(mod: Pick<ModuleSpec, 'resources' | 'ports'>): {
  options: CreateOptions;
  sources: Map<string, string>;
} {
  const sources = new Map<string, string>();
  const host: Json = {};
  const cpu = mod.resources?.cpu;
  if (cpu !== undefined) {
    host['NanoCpus'] = Math.round(cpu * NANO_CPUS_PER_CPU);
    sources.set('HostConfig.NanoCpus', 'resources.cpu');
  }
  const memory = mod.resources?.memoryInGB;
  if (memory !== undefined) {
    host['Memory'] = Math.round(memory * BYTES_PER_GB);
    sources.set('HostConfig.Memory', 'resources.memoryInGB');
  }
  const options: Json = {};
  if (mod.ports && mod.ports.length > 0) {
    const exposed: Json = {};
    const bindings: Record<string, { HostPort: string }[]> = {};
    for (const p of mod.ports) {
      const container = typeof p === 'number' ? p : p.container;
      const hostPort = typeof p === 'number' ? p : p.host;
      const key = `${container}/tcp`;
      exposed[key] = {};
      bindings[key] = [...(bindings[key] ?? []), { HostPort: String(hostPort) }];
      sources.set(`ExposedPorts.${key}`, 'ports');
      sources.set(`HostConfig.PortBindings.${key}`, 'ports');
    }
    options['ExposedPorts'] = exposed;
    host['PortBindings'] = bindings;
  }
  if (Object.keys(host).length > 0) options['HostConfig'] = host;
  return { options, sources };
}

export interface CreateOptionsOverride {
  /** Dotted path inside createOptions, e.g. `HostConfig.Memory`. */
  field: string;
  /** The spec field the generated value came from (`resources.memoryInGB`, `ports`). */
  source: string;
  generated: unknown;
  explicit: unknown;
}

/**
 * Deep-merges `explicit` (the spec's raw createOptions) over `generated`: objects merge key by key,
 * anything else is replaced. Returns the merged options and every generated value that was replaced
 * by a different explicit one.
 */
export function mergeCreateOptions(
  generated: CreateOptions,
  explicit: CreateOptions | undefined,
  sources: ReadonlyMap<string, string>,
): { options: CreateOptions; overrides: CreateOptionsOverride[] } {
  const overrides: CreateOptionsOverride[] = [];
  const merge = (base: Json, over: Json, prefix: string): Json => {
    const out: Json = { ...base };
    for (const [key, value] of Object.entries(over)) {
      const field = prefix ? `${prefix}.${key}` : key;
      const existing = out[key];
      if (isObject(existing) && isObject(value)) {
        out[key] = merge(existing, value, field);
        continue;
      }
      if (existing !== undefined && canonicalJson(existing) !== canonicalJson(value)) {
        overrides.push({ field, source: sourceOf(field, sources), generated: existing, explicit: value });
      }
      out[key] = value;
    }
    return out;
  };
  return { options: explicit ? merge(generated, explicit, '') : generated, overrides };
}

function sourceOf(field: string, sources: ReadonlyMap<string, string>): string {
  const direct = sources.get(field);
  if (direct) return direct;
  // A whole object replaced (e.g. HostConfig.PortBindings set to something else) names its children's source.
  for (const [key, source] of sources) if (key.startsWith(`${field}.`)) return source;
  return 'the generated options';
}
