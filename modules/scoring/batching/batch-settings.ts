import { ModelportError } from '../../../common/errors.js';
import type { TensorMeta } from '../tensor.js';

/** How one model's requests are coalesced into session runs. */
export interface BatchSettings {
  /** Largest number of rows in one session.run; 1 means no batching. */
  maxBatchSize: number;
  /** How long the oldest queued request may wait for others (0: only requests already waiting). */
  maxQueueDelayMs: number;
  /** Why batching is on or off for this model (logged and shown in /v2 model metadata). */
  reason: string;
}

/** One model's override: a partial setting, or false to turn batching off. */
export type ModelBatchOverride = { maxBatchSize?: number; maxQueueDelayMs?: number } | false;

export interface BatchingConfig {
  /** Default for models with a batch dimension (default 32). */
  maxBatchSize?: number;
  /** Default queue delay in ms (default 0). */
  maxQueueDelayMs?: number;
  /** Per-model settings by model name. */
  models?: Record<string, ModelBatchOverride>;
}

export const DEFAULT_MAX_BATCH_SIZE = 32;

/**
 * Batching is on by default when every input and output has a free first dimension (a symbolic or
 * unknown batch size), and off for fixed-batch models, whose shapes cannot grow.
 */
export function batchSettingsFor(
  model: { name: string; inputs: readonly TensorMeta[]; outputs: readonly TensorMeta[] },
  config: BatchingConfig = {},
): BatchSettings {
  const override = config.models?.[model.name];
  if (override === false) return { maxBatchSize: 1, maxQueueDelayMs: 0, reason: 'turned off for this model' };
  const fixed = [...model.inputs, ...model.outputs].find((t) => !hasFreeBatchDim(t));
  const maxBatchSize = override?.maxBatchSize ?? config.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
  const maxQueueDelayMs = override?.maxQueueDelayMs ?? config.maxQueueDelayMs ?? 0;
  if (fixed) {
    return {
      maxBatchSize: 1,
      maxQueueDelayMs: 0,
      reason: `'${fixed.name}' has no free batch dimension (shape ${JSON.stringify(fixed.shape)})`,
    };
  }
  if (maxBatchSize <= 1) return { maxBatchSize: 1, maxQueueDelayMs: 0, reason: 'max batch size is 1' };
  return { maxBatchSize, maxQueueDelayMs, reason: 'every input and output has a free batch dimension' };
}

function hasFreeBatchDim(t: TensorMeta): boolean {
  const first = t.shape?.[0];
  return t.shape !== null && t.shape.length > 0 && (first === null || typeof first === 'string');
}

/**
 * Parses the per-model batching setting of the command line and environment:
 * `NAME=off`, `NAME=SIZE` or `NAME=SIZE,DELAY_MS`.
 */
export function parseBatchOverride(text: string): [string, ModelBatchOverride] {
  const eq = text.indexOf('=');
  const name = text.slice(0, eq).trim();
  const value = text.slice(eq + 1).trim();
  const invalid = () =>
    new ModelportError(
      'BATCH_SETTING_INVALID',
      `batch setting '${text}' is not NAME=off, NAME=SIZE or NAME=SIZE,DELAY_MS`,
      {
        exitCode: 2,
        hint: 'e.g. cnn_small=16,2 (up to 16 rows per run, wait up to 2 ms) or mnist=off',
      },
    );
  if (eq <= 0 || value.length === 0) throw invalid();
  if (value === 'off') return [name, false];
  const [size, delay] = value.split(',');
  const maxBatchSize = Number(size);
  const maxQueueDelayMs = delay === undefined ? undefined : Number(delay);
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) throw invalid();
  if (maxQueueDelayMs !== undefined && !(Number.isFinite(maxQueueDelayMs) && maxQueueDelayMs >= 0))
    throw invalid();
  return [name, maxQueueDelayMs === undefined ? { maxBatchSize } : { maxBatchSize, maxQueueDelayMs }];
}
