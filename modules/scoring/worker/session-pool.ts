import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ScoringError } from '../errors.js';
import type { TensorData } from '../tensor.js';
import type { InferRequest, LoadedModel, SessionSettings, WorkerInit, WorkerMessage } from './protocol.js';

export interface InferResult {
  outputs: Record<string, TensorData>;
  runMs: number;
}

interface Pending {
  resolve: (r: InferResult) => void;
  reject: (e: Error) => void;
}

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
 * From compiled JS the worker is the sibling .js file; from TypeScript sources (tests, tsx) a tiny
 * bootstrap registers tsx in the worker first, since --import in a worker's execArgv does not
 * apply to its entry module.
 */
function newSessionWorker(workerData: WorkerInit): Worker {
  const js = new URL('./session-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { workerData });
  const ts = new URL('./session-worker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(ts)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

class SessionWorker {
  readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(
    readonly worker: Worker,
    private readonly onExit: (w: SessionWorker, code: number) => void,
  ) {
    worker.on('message', (m: WorkerMessage) => this.onMessage(m));
    worker.on('error', (e) => this.failAll(e));
    worker.on('exit', (code) => {
      this.failAll(new ScoringError(500, 'WORKER_EXITED', `inference worker stopped (exit code ${code})`));
      this.onExit(this, code);
    });
  }

  infer(inputs: Record<string, TensorData>, outputs: string[] | undefined): Promise<InferResult> {
    const id = this.nextId++;
    const request: InferRequest = outputs ? { id, inputs, outputs } : { id, inputs };
    const transfer: ArrayBuffer[] = [];
    for (const t of Object.values(inputs))
      if (!Array.isArray(t.data)) transfer.push(t.data.buffer as ArrayBuffer);
    return new Promise<InferResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(request, transfer);
    });
  }

  private onMessage(m: WorkerMessage): void {
    if (m.kind !== 'result' && m.kind !== 'error') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.kind === 'result') p.resolve({ outputs: m.outputs, runMs: m.runMs });
    else p.reject(new ScoringError(500, 'INFERENCE_FAILED', `inference failed: ${m.message}`));
  }

  private failAll(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}

/**
 * Worker threads each holding one onnxruntime session of one model. Requests go to the worker with
 * the fewest in flight; a worker that dies is replaced and its requests fail with a 500.
 */
export class SessionPool {
  private workers: SessionWorker[] = [];
  private closing = false;

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
    pool.adopt(first.worker);
    const rest = await Promise.allSettled(
      Array.from({ length: count - 1 }, () => spawn(modelName, modelPath, settings)),
    );
    for (const r of rest) {
      if (r.status === 'fulfilled') pool.adopt(r.value.worker);
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

  get inFlight(): number {
    return this.workers.reduce((n, w) => n + w.pending.size, 0);
  }

  infer(inputs: Record<string, TensorData>, outputs?: string[]): Promise<InferResult> {
    let best = this.workers[0];
    for (const w of this.workers) if (best && w.pending.size < best.pending.size) best = w;
    if (!best)
      return Promise.reject(
        new ScoringError(503, 'MODEL_UNAVAILABLE', `model '${this.modelName}' has no running worker`),
      );
    return best.infer(inputs, outputs);
  }

  async close(): Promise<void> {
    this.closing = true;
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }

  private adopt(worker: Worker): void {
    this.workers.push(new SessionWorker(worker, (w) => this.replace(w)));
  }

  private replace(dead: SessionWorker): void {
    this.workers = this.workers.filter((w) => w !== dead);
    if (this.closing) return;
    spawn(this.modelName, this.modelPath, this.settings).then(
      (fresh) => (this.closing ? void fresh.worker.terminate() : this.adopt(fresh.worker)),
      () => undefined, // the model loaded before; a failed respawn leaves the pool smaller and the others serving
    );
  }
}

function spawn(
  modelName: string,
  modelPath: string,
  settings: SessionSettings,
): Promise<{ worker: Worker; model: LoadedModel }> {
  const worker = newSessionWorker({ modelName, modelPath, settings });
  return new Promise((resolve, reject) => {
    const onMessage = (m: WorkerMessage) => {
      if (m.kind === 'ready') {
        cleanup();
        resolve({ worker, model: m.model });
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
