import type { Worker } from 'node:worker_threads';
import { ModelportError } from '../../common/errors.js';
import type { TensorData } from '../../modules/scoring/tensor.js';
import type { BatchWorkerInit, FromBatchWorker, ToBatchWorker } from './worker-protocol.js';

/** Runs one batch through the model; resolves with its outputs by name. Runs complete in call order. */
export interface Scorer {
  run(inputs: Record<string, TensorData>): Promise<ScoredBatch>;
  close(): Promise<void>;
}

export interface ScoredBatch {
  outputs: Record<string, TensorData>;
  /** The inputs' storage, free again (for reuse by later batches), when the scorer hands it back. */
  inputs?: Record<string, TensorData['data']>;
}

export interface ScorerOptions {
  /** Intra-op threads (default: the cores this process may use). */
  intraOpThreads?: number;
}

interface Pending {
  resolve: (scored: ScoredBatch) => void;
  reject: (e: Error) => void;
}

/**
 * One onnxruntime session in a worker thread of this process (session-worker.ts), with the session
 * options the scoring server uses. Inputs are transferred, not copied.
 */
export async function openSessionScorer(
  modelName: string,
  modelPath: string,
  options: ScorerOptions = {},
): Promise<Scorer> {
  // Loaded on demand: other commands need none of this.
  const [{ planThreads }, { newWorker }] = await Promise.all([
    import('../../modules/scoring/session-options.js'),
    import('../../modules/scoring/worker/spawn-worker.js'),
  ]);
  const { settings } = planThreads({
    workersPerModel: 1,
    ...(options.intraOpThreads ? { intraOpThreads: options.intraOpThreads } : {}),
  });
  const init: BatchWorkerInit = { modelPath, settings };
  const worker = newWorker(new URL('./session-worker', import.meta.url), init);
  await ready(worker, modelName);
  const pending = new Map<number, Pending>();
  let nextId = 1;
  const failAll = (e: Error) => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  worker.on('message', (m: FromBatchWorker) => {
    if (m.kind !== 'result' && m.kind !== 'error') return;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.kind === 'result') p.resolve({ outputs: m.outputs, inputs: m.inputs });
    else p.reject(new ModelportError('INFERENCE_FAILED', `onnxruntime failed on a batch: ${m.message}`));
  });
  worker.on('error', failAll);
  worker.on('exit', (code) =>
    failAll(new ModelportError('WORKER_EXITED', `the inference worker stopped (exit code ${code})`)),
  );
  return {
    run: (inputs) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        const transfer: ArrayBuffer[] = [];
        for (const t of Object.values(inputs))
          if (!Array.isArray(t.data)) transfer.push(t.data.buffer as ArrayBuffer);
        const message: ToBatchWorker = { id, inputs };
        worker.postMessage(message, transfer);
      }),
    close: async () => {
      await worker.terminate();
    },
  };
}

function ready(worker: Worker, modelName: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (reason: string) => {
      cleanup();
      void worker.terminate();
      reject(
        new ModelportError(
          'MODEL_LOAD_FAILED',
          `model '${modelName}' cannot be loaded by onnxruntime: ${reason}`,
          {
            hint: 'check that the model runs in onnxruntime 1.30 on this platform (operators, opset, file)',
          },
        ),
      );
    };
    const onMessage = (m: FromBatchWorker) => {
      if (m.kind === 'ready') {
        cleanup();
        resolve();
      } else if (m.kind === 'load-failed') fail(m.message);
    };
    const onError = (e: Error) => fail(e.message);
    const onExit = (code: number) => fail(`the worker exited with code ${code} while loading`);
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}
