import { ModelportError } from '../../common/errors.js';
import type { HardwareFacts } from './hardware.js';

/** The execution providers sessions use, and why (shown in GET /v2 and logged at start). */
export interface ProviderChoice {
  requested: string[];
  fallback: string[];
  chosen: string[];
  reason: string;
}

const NVIDIA_PROVIDERS = new Set(['cuda', 'tensorrt']);
const GPU_PROVIDERS = new Set(['cuda', 'tensorrt', 'webgpu', 'dml']);

export function needsGpuScan(requested: readonly string[]): boolean {
  return requested.some((p) => GPU_PROVIDERS.has(p));
}

/** Why a provider cannot run here, or undefined when it can (as far as can be known before loading). */
export function unavailableReason(provider: string, facts: HardwareFacts): string | undefined {
  if (provider === 'cpu') return undefined;
  const offered = facts.binding.find((b) => b.name === provider);
  if (!offered) {
    return `onnxruntime-node on ${facts.platform}/${facts.arch} offers ${facts.binding.map((b) => b.name).join(', ')}, not ${provider}`;
  }
  if (!offered.libraryInstalled) {
    return `the ${provider} provider library is not installed beside the onnxruntime-node binding (install onnxruntime-node with its ${provider} libraries)`;
  }
  if (NVIDIA_PROVIDERS.has(provider) && !facts.gpus.some((g) => /nvidia/i.test(`${g.vendor} ${g.model}`))) {
    return `no NVIDIA GPU was found (systeminformation saw ${describeGpus(facts)})`;
  }
  if (GPU_PROVIDERS.has(provider) && facts.gpus.length === 0) {
    return `no GPU was found (systeminformation saw ${describeGpus(facts)})`;
  }
  return undefined;
}

/**
 * Picks providers: the requested ones when all can run here; else the fallback list, when one was
 * given; else a start-up error naming what is missing. `cpu` is the default.
 */
export function chooseProviders(
  requested: readonly string[],
  fallback: readonly string[],
  facts: HardwareFacts,
): ProviderChoice {
  const want = requested.length > 0 ? [...requested] : ['cpu'];
  const problems = want
    .map((p) => [p, unavailableReason(p, facts)] as const)
    .filter((x): x is readonly [string, string] => x[1] !== undefined);
  if (problems.length === 0) {
    return {
      requested: want,
      fallback: [...fallback],
      chosen: want,
      reason: requested.length > 0 ? 'requested, and available here' : 'default (no provider was asked for)',
    };
  }
  const why = problems.map(([p, r]) => `${p}: ${r}`).join('; ');
  if (fallback.length === 0) {
    throw new ModelportError(
      'EXECUTION_PROVIDER_UNAVAILABLE',
      `execution provider ${problems.map(([p]) => p).join(', ')} is not available: ${why}`,
      {
        exitCode: 2,
        hint: 'ask for another provider, or give a fallback list (e.g. --ep-fallback cpu / MODELPORT_EP_FALLBACK=cpu)',
      },
    );
  }
  const fallbackProblems = fallback.filter((p) => unavailableReason(p, facts) !== undefined);
  if (fallbackProblems.length > 0) {
    throw new ModelportError(
      'EXECUTION_PROVIDER_UNAVAILABLE',
      `neither the requested providers (${why}) nor the fallback ${fallbackProblems.join(', ')} are available`,
      { exitCode: 2 },
    );
  }
  return { requested: want, fallback: [...fallback], chosen: [...fallback], reason: `fell back: ${why}` };
}

function describeGpus(facts: HardwareFacts): string {
  return facts.gpus.length === 0
    ? 'no display controllers'
    : facts.gpus.map((g) => `${g.vendor} ${g.model}`.trim()).join(', ');
}
