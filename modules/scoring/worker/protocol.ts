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
