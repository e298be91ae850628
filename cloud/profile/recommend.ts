/**
 * The sizing rule: load measurements → `{cpu, memoryInGB}`, the shape of Azure ML's `Model.profile`
 * result and of a deployment spec's `resources` (manifests/spec-schema.ts), so the recommendation can
 * be pasted into a spec as it is.
 *
 * Azure ML does not publish the grid its profiler rounds to; its deployment configurations take CPU in
 * cores and memory in GB with one decimal (ACI and AKS default to 0.1 cores and 0.5 GB). The steps here
 * start at that 0.1 and then follow the sizes people actually request, so a recommendation never
 * reads like 0.37 cores:
 * - cpu: the smallest CPU step covering the cores the server used at the operating concurrency. The
 *   operating concurrency is the error-free step with the highest throughput whose p99 latency meets
 *   the target; when none meets it, the error-free step with the highest throughput (and the rule says
 *   the target was missed).
 * - memoryInGB: the process's peak resident memory (model load included) × headroom (1.5: onnxruntime
 *   arenas grow with batch shapes, and a container killed at its memory limit is worse than an idle
 *   half-gigabyte), rounded up to the memory steps. GB means GiB (1024³ bytes), as Docker's `--memory 1g`
 *   and cloud/manifest read it.
 */

export const CPU_STEPS = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32] as const;
export const MEMORY_STEPS_GB = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64] as const;
export const MEMORY_HEADROOM = 1.5;
export const DEFAULT_LATENCY_TARGET_MS = 100;
export const BYTES_PER_GB = 1024 ** 3;

/** What one concurrency step measured. */
export interface StepResult {
  concurrency: number;
  /** Completed requests (any status). */
  requests: number;
  /** Successful requests per second. */
  throughput: number;
  /** Response latency percentiles in ms. */
  latency: { p50: number; p90: number; p99: number };
  /** Connection errors, timeouts and non-2xx replies. */
  errors: number;
  /** Largest resident memory seen during the step. */
  peakRssBytes: number;
  /** Average CPU cores the server used during the step. */
  cpuCores: number;
}

export interface Recommendation {
  cpu: number;
  memoryInGB: number;
}

export interface RecommendationRule {
  /** The rule as a sentence, with the figures it used. */
  text: string;
  latencyTargetMs: number;
  /** The concurrency whose measurements sized the CPU. */
  operatingConcurrency: number;
  latencyTargetMet: boolean;
  cpuCoresMeasured: number;
  peakRssBytes: number;
  memoryHeadroom: number;
  cpuSteps: readonly number[];
  memoryStepsGB: readonly number[];
}

/** The smallest step ≥ value; past the last step, the next whole number. */
export function roundUpToStep(value: number, steps: readonly number[]): number {
  for (const step of steps) if (value <= step + 1e-9) return step;
  return Math.ceil(value);
}

/**
 * Picks the operating step and sizes cpu and memory from it. `peakRssBytes` is the server's peak over
 * the whole run (its load included), which is what a memory limit must hold.
 */
export function recommend(
  steps: readonly StepResult[],
  options: { latencyTargetMs: number; peakRssBytes: number; headroom?: number },
): { recommendation: Recommendation; rule: RecommendationRule } {
  const healthy = steps.filter((s) => s.errors === 0 && s.requests > 0);
  if (healthy.length === 0) {
    throw new Error('no load step completed without errors, so there is nothing to size from');
  }
  const meeting = healthy.filter((s) => s.latency.p99 <= options.latencyTargetMs);
  const pool = meeting.length > 0 ? meeting : healthy;
  const operating = pool.reduce((best, s) => (s.throughput > best.throughput ? s : best));
  const headroom = options.headroom ?? MEMORY_HEADROOM;
  const cpu = roundUpToStep(Math.max(operating.cpuCores, 0), CPU_STEPS);
  const needGB = (options.peakRssBytes * headroom) / BYTES_PER_GB;
  const memoryInGB = roundUpToStep(needGB, MEMORY_STEPS_GB);
  const met = meeting.length > 0;
  const mib = (b: number) => `${(b / 1024 ** 2).toFixed(1)} MiB`;
  const text = [
    met
      ? `cpu: concurrency ${operating.concurrency} had the highest throughput (${operating.throughput.toFixed(1)} req/s) of the steps whose p99 met the ${options.latencyTargetMs} ms target (p99 ${operating.latency.p99.toFixed(1)} ms);`
      : `cpu: no step met the ${options.latencyTargetMs} ms p99 target, so concurrency ${operating.concurrency}, the highest throughput (${operating.throughput.toFixed(1)} req/s, p99 ${operating.latency.p99.toFixed(1)} ms), sized it;`,
    `the server used ${operating.cpuCores.toFixed(2)} cores there, rounded up to the CPU step ${cpu}.`,
    `memoryInGB: peak RSS ${mib(options.peakRssBytes)} × ${headroom} headroom = ${mib(options.peakRssBytes * headroom)}, rounded up to the memory step ${memoryInGB} GB.`,
  ].join(' ');
  return {
    recommendation: { cpu, memoryInGB },
    rule: {
      text,
      latencyTargetMs: options.latencyTargetMs,
      operatingConcurrency: operating.concurrency,
      latencyTargetMet: met,
      cpuCoresMeasured: operating.cpuCores,
      peakRssBytes: options.peakRssBytes,
      memoryHeadroom: headroom,
      cpuSteps: CPU_STEPS,
      memoryStepsGB: MEMORY_STEPS_GB,
    },
  };
}
