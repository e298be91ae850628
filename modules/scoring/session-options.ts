import { availableParallelism } from 'node:os';
import type { SessionSettings } from './worker/protocol.js';

export interface ThreadingPlan {
  workersPerModel: number;
  settings: SessionSettings;
  /** Neither workers nor threads were set: the server may reshape a compute-bound model's pool. */
  auto: boolean;
  cores: number;
}

/**
 * A model whose batch-1 run takes at least this long (ms, measured at load) is compute-bound:
 * with an automatic plan it gets one single-threaded worker per core instead of one worker with
 * a thread per core.
 */
export const COMPUTE_BOUND_RUN_MS = 0.5;

export interface ThreadingOptions {
  workersPerModel?: number;
  intraOpThreads?: number;
  /** Let idle intra-op threads spin (default off; see below). */
  allowSpinning?: boolean;
  executionProviders?: string[];
}

/**
 * Session options, chosen on purpose (bench/scoring measured the alternatives on 2 shared cores;
 * README "Performance"):
 * - small models (batch-1 run under COMPUTE_BOUND_RUN_MS): one worker whose session has one
 *   intra-op thread per core. Dynamic batching absorbs concurrency, and one worker means one
 *   hand-off per batch; with two workers the batches halve and the hand-offs double, which cost
 *   the HTTP thread more than the runs save (mnist_mlp: about 0.73 vs 0.62 of the bare-HTTP rate);
 * - compute-bound models: one worker per core, each session single-threaded. A multi-threaded
 *   run stalls whenever any of its threads is preempted (by the HTTP thread, the load, other
 *   processes), since every parallel section waits for the slowest thread; independent
 *   single-threaded sessions do not wait for each other (cnn_small under load: about 1,060 vs 560
 *   images/s). The reshape happens after the first worker's warm-up tells how long a run takes,
 *   and only when the extra copies of the model fit easily in memory;
 * - workers × intra-op threads never exceed the cores, so sessions do not oversubscribe the CPU;
 * - intra-op threads do not spin while idle: the HTTP thread shares the cores, and a spinning pool
 *   thread burns the time the HTTP thread needs (cnn_small with spinning: under 100 images/s);
 * - inter-op 1 because executionMode is sequential (parallel graph branches rarely pay off on small
 *   edge CPUs);
 * - graph optimization `all`: layout and fusion passes are done once at load, every run benefits;
 * - CPU memory arena and memory pattern on: repeated runs of the same shapes reuse buffers instead of
 *   calling malloc on the hot path (dynamic batching keeps shapes to a few sizes).
 */
export function planThreads(options: ThreadingOptions = {}): ThreadingPlan {
  const cores = Math.max(1, availableParallelism());
  const workersPerModel = Math.max(1, options.workersPerModel ?? 1);
  const intraOpNumThreads = Math.max(1, options.intraOpThreads ?? Math.floor(cores / workersPerModel));
  return {
    workersPerModel,
    auto: options.workersPerModel === undefined && options.intraOpThreads === undefined,
    cores,
    settings: {
      intraOpNumThreads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      enableCpuMemArena: true,
      enableMemPattern: true,
      allowSpinning: options.allowSpinning ?? false,
      executionProviders: options.executionProviders ?? ['cpu'],
    },
  };
}

/** Whether a loaded model's pool becomes one single-threaded worker per core (see planThreads). */
export function shouldReshape(
  plan: Pick<ThreadingPlan, 'auto' | 'cores'>,
  model: { warmRunMs: number | undefined; fileBytes: number; providers: readonly string[] },
  totalMemoryBytes: number,
): boolean {
  if (!plan.auto || plan.cores < 2) return false;
  if (model.warmRunMs === undefined || model.warmRunMs < COMPUTE_BOUND_RUN_MS) return false;
  if (model.providers.some((p) => p !== 'cpu')) return false;
  return model.fileBytes * plan.cores <= totalMemoryBytes / 4;
}
