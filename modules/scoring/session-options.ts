import { availableParallelism } from 'node:os';
import type { SessionSettings } from './worker/protocol.js';

export interface ThreadingPlan {
  workersPerModel: number;
  settings: SessionSettings;
}

/**
 * Session options, chosen on purpose:
 * - workers × intra-op threads ≈ cores, so sessions never oversubscribe the CPU; inter-op 1 because
 *   executionMode is sequential (parallel graph branches rarely pay off on small edge CPUs);
 * - graph optimization `all`: layout and fusion passes are done once at load, every run benefits;
 * - CPU memory arena and memory pattern on: repeated runs of the same shapes reuse buffers instead of
 *   calling malloc on the hot path (dynamic batching keeps shapes to a few sizes).
 */
export function planThreads(
  options: { workersPerModel?: number; intraOpThreads?: number; executionProviders?: string[] } = {},
): ThreadingPlan {
  const cores = Math.max(1, availableParallelism());
  const workersPerModel = Math.max(1, options.workersPerModel ?? 1);
  const intraOpNumThreads = Math.max(1, options.intraOpThreads ?? Math.floor(cores / workersPerModel));
  return {
    workersPerModel,
    settings: {
      intraOpNumThreads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      enableCpuMemArena: true,
      enableMemPattern: true,
      executionProviders: options.executionProviders ?? ['cpu'],
    },
  };
}
