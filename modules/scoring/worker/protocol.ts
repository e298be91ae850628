import type { InferenceSession } from 'onnxruntime-node';
import type { TensorData, TensorMeta } from '../tensor.js';

/** ONNX Runtime session settings chosen by the server (see session-options.ts for why). */
export interface SessionSettings {
  intraOpNumThreads: number;
  interOpNumThreads: number;
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  enableCpuMemArena: boolean;
  enableMemPattern: boolean;
  /** Whether idle intra-op threads spin; off when the CPU is shared with the HTTP thread. */
  allowSpinning: boolean;
  executionProviders: string[];
}

/** The onnxruntime session options a worker session is created with (scoring and `modelport batch`). */
export function ortSessionOptions(s: SessionSettings): InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: s.intraOpNumThreads,
    interOpNumThreads: s.interOpNumThreads,
    graphOptimizationLevel: s.graphOptimizationLevel,
    enableCpuMemArena: s.enableCpuMemArena,
    enableMemPattern: s.enableMemPattern,
    executionProviders: s.executionProviders,
    executionMode: 'sequential',
    // Session config entries (onnxruntime_session_options_config_keys.h).
    extra: { session: { intra_op: { allow_spinning: s.allowSpinning ? '1' : '0' } } },
  };
}

export interface WorkerInit {
  modelName: string;
  modelPath: string;
  settings: SessionSettings;
  /** The shared mailbox (mailbox.ts) requests and replies go through. */
  mailbox: SharedArrayBuffer;
  /**
   * How long the worker polls for the next request before sleeping, in µs, when requests have been
   * coming that close together (a poll that catches the request saves waking the thread up).
   */
  pollMicros: number;
}

export interface LoadedModel {
  inputs: TensorMeta[];
  outputs: TensorMeta[];
  loadMs: number;
  /** Median time of batch-1 warm-up runs on zeros (absent when the model could not be warmed up). */
  warmRunMs?: number;
}

/** Messages to the worker (requests that do not fit the mailbox, and larger mailboxes). */
export type ToWorker = {
  kind: 'run';
  id: number;
  inputs: Record<string, TensorData>;
  outputs?: string[];
  mailbox?: SharedArrayBuffer;
};

export type WorkerMessage =
  | { kind: 'ready'; model: LoadedModel }
  | { kind: 'load-failed'; message: string }
  | { kind: 'result'; id: number; outputs: Record<string, TensorData>; runMs: number }
  | { kind: 'error'; id: number; message: string };
