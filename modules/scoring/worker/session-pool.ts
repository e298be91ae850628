import type { Worker } from 'node:worker_threads';
import type { BatchRunner, InferResult } from '../batching/batcher.js';
import { ScoringError } from '../errors.js';
import type { TensorData } from '../tensor.js';
import { Mailbox } from './mailbox.js';
import type { LoadedModel, SessionSettings, WorkerInit, WorkerMessage } from './protocol.js';
import { SessionWorker } from './session-worker-handle.js';
import { newWorker } from './spawn-worker.js';

/** The model failed to load in onnxruntime (bad graph, missing operator kernel, unreadable file). */
export class ModelLoadError extends ScoringError {
  constructor(model: string, reason: string) {
    super(500, 'MODEL_LOAD_FAILED', `model '${model}' cannot be loaded by onnxruntime: ${reason}`, {
      exitCode: 1,
      hint: 'check that the model runs in onnxruntime 1.30 on this platform (operators, opset, file)',
    });
  }
}

/**
 * Worker threads each holding one onnxruntime session of one model version. The batcher hands a
 * run only to an idle worker, so requests wait on the HTTP thread, where they can be coalesced. A
 * worker that dies is replaced; the requests it held fail with a 500.
 */
export class SessionPool implements BatchRunner {
  private workers: SessionWorker[] = [];
  private closing = false;
  /** Called when a worker joins (after a respawn), so queued requests can move. */
  onCapacity: () => void = () => undefined;

  private constructor(
    readonly modelName: string,
    private readonly modelPath: string,
    private readonly settings: SessionSettings,
    readonly model: LoadedModel,
  ) {}

  static async start(
    modelName: string,
    modelPath: string,
    settings: SessionSettings,
    count: number,
  ): Promise<SessionPool> {
    const first = await spawn(modelName, modelPath, settings);
    const pool = new SessionPool(modelName, modelPath, settings, first.model);
    pool.adopt(first);
    const rest = await Promise.allSettled(
      Array.from({ length: count - 1 }, () => spawn(modelName, modelPath, settings)),
    );
    for (const r of rest) {
      if (r.status === 'fulfilled') pool.adopt(r.value);
      else {
        await pool.close();
        throw r.reason;
      }
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  get intraOpThreads(): number {
    return this.settings.intraOpNumThreads;
  }

  hasIdle(): boolean {
    for (const w of this.workers) if (w.inFlight === 0) return true;
    return false;
  }

  run(inputs: Record<string, TensorData>, outputs: string[] | undefined): Promise<InferResult> {
    let best: SessionWorker | undefined;
    for (const w of this.workers) if (!best || w.inFlight < best.inFlight) best = w;
    if (!best) {
      return Promise.reject(
        new ScoringError(503, 'MODEL_UNAVAILABLE', `model '${this.modelName}' has no running worker`),
      );
    }
    return best.infer(inputs, outputs);
  }

  async close(): Promise<void> {
    this.closing = true;
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private adopt(spawned: Spawned): void {
    this.workers.push(new SessionWorker(spawned.worker, spawned.mailbox, (w) => this.replace(w)));
    this.onCapacity();
  }

  private replace(dead: SessionWorker): void {
    this.workers = this.workers.filter((w) => w !== dead);
    if (this.closing) return;
    spawn(this.modelName, this.modelPath, this.settings).then(
      (fresh) => (this.closing ? void fresh.worker.terminate() : this.adopt(fresh)),
      () => undefined, // the model loaded before; a failed respawn leaves the pool smaller and the others serving
    );
  }
}

interface Spawned {
  worker: Worker;
  model: LoadedModel;
  mailbox: SharedArrayBuffer;
}

/** Initial mailbox: room for a batch of typical image-sized inputs; grows on demand. */
const MAILBOX_BYTES = 4 * 1024 * 1024;
const POLL_MICROS = Number(process.env.MODELPORT_WORKER_POLL_US ?? 200);

function spawn(modelName: string, modelPath: string, settings: SessionSettings): Promise<Spawned> {
  const mailbox = Mailbox.create(MAILBOX_BYTES).shared;
  const init: WorkerInit = { modelName, modelPath, settings, mailbox, pollMicros: POLL_MICROS };
  const worker = newWorker(new URL('./session-worker', import.meta.url), init);
  return new Promise((resolve, reject) => {
    const onMessage = (m: WorkerMessage) => {
      if (m.kind === 'ready') {
        cleanup();
        resolve({ worker, model: m.model, mailbox });
      } else if (m.kind === 'load-failed') {
        cleanup();
        void worker.terminate();
        reject(new ModelLoadError(modelName, m.message));
      }
    };
    const onError = (e: Error) => {
      cleanup();
      reject(new ModelLoadError(modelName, e.message));
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new ModelLoadError(modelName, `worker exited with code ${code} while loading`));
    };
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
