import type { TensorData } from '../../modules/scoring/tensor.js';
import type { SessionSettings } from '../../modules/scoring/worker/protocol.js';

export interface BatchWorkerInit {
  modelPath: string;
  settings: SessionSettings;
}

export interface ToBatchWorker {
  id: number;
  inputs: Record<string, TensorData>;
}

export type FromBatchWorker =
  | { kind: 'ready' }
  | { kind: 'load-failed'; message: string }
  /** `inputs`: the input tensors' storage, handed back for reuse. */
  | {
      kind: 'result';
      id: number;
      outputs: Record<string, TensorData>;
      inputs: Record<string, TensorData['data']>;
    }
  | { kind: 'error'; id: number; message: string };
