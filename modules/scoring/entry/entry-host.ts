import type { Worker } from 'node:worker_threads';
import { ModelportError } from '../../../common/errors.js';
import type { Logger } from '../../../common/logger.js';
import { ScoringError } from '../errors.js';
import { newWorker, siblingModule } from '../worker/spawn-worker.js';
import type {
  EntryCall,
  EntryMessage,
  EntryWorkerInit,
  RawRequest,
  ScriptInfo,
  ScriptReply,
} from './protocol.js';

export interface EntryScriptOptions {
  /** The script file (absolute). */
  file: string;
  /** Entry workers, each running the script's init() once (WORKER_COUNT; default 1). */
  workers?: number;
  /** AZUREML_MODEL_DIR for the script. */
  modelDir?: string;
}

export type ScriptInput =
  | { mode: 'data'; body: string; contentType: string | undefined }
  | { mode: 'raw'; request: RawRequest };

export interface ScriptResult {
  reply: ScriptReply;
  runMs: number;
}

/** run() raised: a 500 whose log line carries the script's own stack. */
export class ScriptFailure extends ScoringError {
  constructor(
    message: string,
    readonly scriptStack: string | undefined,
    readonly runMs: number,
  ) {
    super(
      500,
      'SCRIPT_FAILED',
      'An unexpected error occurred in scoring script. Check the logs for more info.',
      {
        details: { reason: message },
      },
    );
  }
}

/** The script rejected its input (or it did not match the script's sample): a 4xx. */
export class ScriptInputError extends ScoringError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly runMs: number,
  ) {
    super(status, code, message);
  }
}

/** init() failed: the server cannot serve. */
export class ScriptInitError extends ModelportError {
  constructor(
    file: string,
    message: string,
    readonly scriptStack?: string,
  ) {
    super('ENTRY_SCRIPT_INIT_FAILED', `entry script ${file} failed to start: ${message}`, {
      exitCode: 1,
      hint: 'fix the script (its stack is logged); init() must not throw',
    });
  }
}

/** Requests waiting for a free entry worker beyond which new ones get 503 (bounds memory). */
const MAX_QUEUE = 4096;

interface Job {
  call: ScriptInput;
  deadline: number;
  resolve: (r: ScriptResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
  id: number;
}

/**
 * Entry-script workers, each with the script loaded and its init() done, running one request at a
 * time. Requests wait on the HTTP thread for a free worker. A worker that crashes, or runs past the
 * scoring timeout, is replaced (its replacement runs init() again); the request it held gets a 500.
 */
export class EntryHost {
  private readonly slots: Slot[] = [];
  private queue: Job[] = [];
  private failure: Error | undefined;
  private scriptInfo: ScriptInfo | undefined;
  private closed = false;
  private nextId = 1;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly size: number;
  private readonly apiModule = siblingModule(new URL('./script-api', import.meta.url)).href;
  /** Settles when every worker has run init(); rejects (observed) when init() failed. */
  readonly loaded: Promise<void>;

  constructor(
    private readonly options: EntryScriptOptions,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {
    this.size = Math.max(1, options.workers ?? 1);
    this.loaded = this.start();
    this.loaded.catch(() => undefined);
  }

  get state(): 'loading' | 'ready' | 'failed' {
    if (this.failure) return 'failed';
    return this.scriptInfo ? 'ready' : 'loading';
  }

  get info(): ScriptInfo | undefined {
    return this.scriptInfo;
  }

  get loadError(): Error | undefined {
    return this.failure;
  }

  get file(): string {
    return this.options.file;
  }

  call(input: ScriptInput): Promise<ScriptResult> {
    if (this.closed)
      return Promise.reject(new ScoringError(503, 'SERVER_CLOSING', 'the server is shutting down'));
    if (!this.scriptInfo)
      return Promise.reject(new ScoringError(503, 'SCRIPT_NOT_READY', 'the entry script is still starting'));
    if (this.queue.length >= MAX_QUEUE) {
      return Promise.reject(
        new ScoringError(
          503,
          'QUEUE_FULL',
          `${this.queue.length} requests are waiting for the entry script; retry later`,
        ),
      );
    }
    return new Promise<ScriptResult>((resolve, reject) => {
      this.queue.push({ call: input, deadline: performance.now() + this.timeoutMs, resolve, reject });
      this.startSweep();
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
    const closing = new ScoringError(503, 'SERVER_CLOSING', 'the server is shutting down');
    for (const job of this.queue.splice(0)) job.reject(closing);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private async start(): Promise<void> {
    const results = await Promise.allSettled(Array.from({ length: this.size }, (_, i) => this.spawn(i)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      this.failure = failed.reason as Error;
      this.closed = true; // the workers that did start are stopped, not restarted
      await Promise.all(this.slots.map((s) => s.worker.terminate()));
      this.slots.length = 0;
      throw failed.reason;
    }
  }

  private spawn(index: number): Promise<void> {
    const init: EntryWorkerInit = { script: this.options.file, apiModule: this.apiModule, index };
    if (this.options.modelDir !== undefined) init.modelDir = this.options.modelDir;
    // Script output goes to stderr: stdout may carry a command's JSON result.
    const worker = newWorker(new URL('./entry-worker', import.meta.url), init, { stdout: true });
    worker.stdout.pipe(process.stderr, { end: false });
    return new Promise<void>((resolve, reject) => {
      const onMessage = (m: EntryMessage) => {
        if (m.kind === 'ready') {
          cleanup();
          this.scriptInfo ??= m.info;
          const slot: Slot = { worker, job: undefined, id: 0 };
          this.slots.push(slot);
          this.attach(slot, index);
          if (this.closed) void worker.terminate();
          this.dispatch();
          resolve();
        } else if (m.kind === 'init-failed') {
          cleanup();
          void worker.terminate();
          this.logger.error(
            { script: this.options.file, stack: m.stack },
            `entry script init failed: ${m.message}`,
          );
          reject(new ScriptInitError(this.options.file, m.message, m.stack));
        }
      };
      const onError = (e: Error) => {
        cleanup();
        reject(new ScriptInitError(this.options.file, e.message, e.stack));
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new ScriptInitError(this.options.file, `its worker exited with code ${code} during init()`));
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

  private attach(slot: Slot, index: number): void {
    slot.worker.on('message', (m: EntryMessage) => {
      if (m.kind !== 'result' && m.kind !== 'error') return;
      const job = slot.job;
      if (!job || m.id !== slot.id) return;
      slot.job = undefined;
      if (m.kind === 'result') job.resolve({ reply: m.reply, runMs: m.runMs });
      else if (m.status < 500) job.reject(new ScriptInputError(m.status, m.code, m.message, m.runMs));
      else job.reject(new ScriptFailure(m.message, m.stack, m.runMs));
      this.dispatch();
    });
    slot.worker.on('error', (e) => this.logger.error({ err: e }, 'entry worker error'));
    slot.worker.on('exit', (code) => {
      const at = this.slots.indexOf(slot);
      if (at !== -1) this.slots.splice(at, 1);
      slot.job?.reject(
        new ScoringError(
          500,
          'SCRIPT_CRASHED',
          `the entry script's worker stopped (exit code ${code}) while running this request`,
        ),
      );
      slot.job = undefined;
      if (!this.closed) this.respawn(index, 0);
    });
  }

  private respawn(index: number, attempt: number): void {
    this.logger.warn({ worker: index, attempt }, 'restarting an entry worker');
    this.spawn(index).catch((e: unknown) => {
      const delay = Math.min(30_000, 500 * 2 ** attempt);
      this.logger.error({ err: e, retryInMs: delay }, 'entry worker failed to restart');
      if (!this.closed) setTimeout(() => this.respawn(index, attempt + 1), delay).unref();
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.job) continue;
      const job = this.queue.shift() as Job;
      slot.job = job;
      slot.id = this.nextId++;
      const call: EntryCall =
        job.call.mode === 'data'
          ? { kind: 'run', id: slot.id, mode: 'data', body: job.call.body, contentType: job.call.contentType }
          : { kind: 'run', id: slot.id, mode: 'raw', request: job.call.request };
      slot.worker.postMessage(call);
    }
  }

  private startSweep(): void {
    if (this.sweepTimer) return;
    const every = Math.max(5, Math.min(1000, this.timeoutMs / 4));
    this.sweepTimer = setInterval(() => this.sweep(), every);
    this.sweepTimer.unref();
  }

  private sweep(): void {
    const now = performance.now();
    const timeout = () =>
      new ScoringError(500, 'SCORING_TIMEOUT', `Scoring timeout after ${this.timeoutMs} ms`);
    const expired = this.queue.filter((j) => j.deadline <= now);
    if (expired.length > 0) {
      this.queue = this.queue.filter((j) => j.deadline > now);
      for (const job of expired) job.reject(timeout());
    }
    for (const slot of [...this.slots]) {
      if (slot.job && slot.job.deadline <= now) {
        const job = slot.job;
        slot.job = undefined;
        job.reject(timeout());
        this.slots.splice(this.slots.indexOf(slot), 1); // takes no more requests; its exit respawns it
        // The script is stuck in this request: stop its worker (a new one runs init() again).
        this.logger.warn(
          { timeoutMs: this.timeoutMs },
          'entry script run() timed out; restarting its worker',
        );
        void slot.worker.terminate();
      }
    }
    if (this.queue.length === 0 && this.slots.every((s) => !s.job)) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
  }
}
