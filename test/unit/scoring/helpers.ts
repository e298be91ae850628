import type { ServedModel } from '../../../modules/scoring/served-model.js';
import type { TensorMeta } from '../../../modules/scoring/tensor.js';

/** A served model's description (what decoders and routes read), without sessions. */
export function servedModel(
  inputs: TensorMeta[],
  outputs: TensorMeta[] = [{ name: 'y', type: 'float32', shape: ['N', 1] }],
): ServedModel {
  return {
    name: 'm',
    version: '1',
    file: '/models/m/1/model.onnx',
    inputs,
    outputs,
    loadMs: 1,
    providers: ['cpu'],
    batching: { maxBatchSize: 32, maxQueueDelayMs: 0, reason: 'test' },
  };
}
