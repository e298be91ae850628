import type { TensorData, TensorMeta } from '../tensor.js';

/** ONNX Runtime session settings chosen by the server (see session-options.ts for why). */
export interface SessionSettings {
  intraOpNumThreads: number;
  interOpNumThreads: number;
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  enableCpuMemArena: boolean;
  enableMemPattern: boolean;
  executionProviders: string[];
}

export interface WorkerInit {
  modelName: string;
  modelPath: string;
  settings: SessionSettings;
}

export interface LoadedModel {
  inputs: TensorMeta[];
  outputs: TensorMeta[];
  loadMs: number;
}

export interface InferRequest {
  id: number;
  inputs: Record<string, TensorData>;
  /** Output names to compute; all when absent. */
  outputs?: string[];
}

export type WorkerMessage =
  | { kind: 'ready'; model: LoadedModel }
  | { kind: 'load-failed'; message: string }
  | { kind: 'result'; id: number; outputs: Record<string, TensorData>; runMs: number }
  | { kind: 'error'; id: number; message: string };
