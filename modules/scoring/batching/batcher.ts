import { ScoringError } from '../errors.js';
import type { TensorData } from '../tensor.js';
import type { BatchSettings } from './batch-settings.js';
import { batchKey, concatRows, rowsOf, sliceRows } from './batch-tensors.js';

export interface InferResult {
  outputs: Record<string, TensorData>;
  /** Time inside session.run, in ms (shared by every request of a batch). */
  runMs: number;
}

/** The session workers of one model, as the batcher sees them. */
export interface BatchRunner {
  /** Number of workers (runs that can be in progress at once). */
  readonly size: number;
  /** True when a worker can take a run now. */
  hasIdle(): boolean;
  run(inputs: Record<string, TensorData>, outputs: string[] | undefined): Promise<InferResult>;
}

/** A session on the HTTP thread for lone requests to a small model (inline-session.ts). */
export interface InlineRunner {
  readonly busy: boolean;
  run(inputs: Record<string, TensorData>, outputs: string[] | undefined): Promise<InferResult>;
}

/** What the batcher reports, for metrics. */
export interface BatchObserver {
  queued(model: string, ms: number): void;
  batch(model: string, rows: number, runMs: number): void;
}

export interface BatcherOptions {
  model: string;
  settings: BatchSettings;
  /** A request older than this (queued or running) fails with "Scoring timeout after N ms". */
  timeoutMs: number;
  /** Requests waiting beyond this many are refused with 503 (bounds memory under overload). */
  maxQueue: number;
  observer?: BatchObserver;
}

interface Job {
  inputs: Record<string, TensorData>;
  outputs: string[] | undefined;
  rows: number;
  key: string;
  enqueuedAt: number;
  deadline: number;
  settled: boolean;
  resolve: (r: InferResult) => void;
  reject: (e: Error) => void;
}

/**
 * One model's request queue on the HTTP thread. A request is dispatched as soon as a worker is
 * idle; requests that arrive while every worker is busy are coalesced into one session.run of up to
 * `maxBatchSize` rows (with `maxQueueDelayMs` > 0 the oldest may also wait for company). Dispatch
 * is deferred to setImmediate, so requests that arrived in the same event-loop turn share a run
 * without any added delay. Outputs are split back by rows, as views (no copies).
 */
export class Batcher {
  private queue: Job[] = [];
  private readonly running = new Set<Job[]>();
  private scheduled = false;
  private delayTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private drainWaiters: (() => void)[] = [];
  /** Set when a model's outputs turn out not to follow the batch dimension: then no more batching. */
  private splittable = true;
  private closedWith: Error | undefined;
  private inline: InlineRunner | undefined;
  /** Rows per run, smoothed: above ~1.5 requests are arriving together and go to the worker. */
  private rowsPerRun = 1;
  /** Rows queued and rows being run: the requests in the system, for the batch cap below. */
  private queuedRows = 0;
  private runningRows = 0;
  private readonly flushNow = () => {
    this.scheduled = false;
    this.flush();
  };

  constructor(
    private readonly runner: BatchRunner,
    private readonly options: BatcherOptions,
  ) {}

  get settings(): BatchSettings {
    return this.options.settings;
  }

  get pending(): number {
    return this.queue.length + this.running.size;
  }

  submit(inputs: Record<string, TensorData>, outputs?: string[]): Promise<InferResult> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (this.queue.length >= this.options.maxQueue) {
      return Promise.reject(
        new ScoringError(
          503,
          'QUEUE_FULL',
          `model '${this.options.model}' has ${this.queue.length} requests waiting; retry later`,
        ),
      );
    }
    return new Promise<InferResult>((resolve, reject) => {
      const now = performance.now();
      const batching = this.options.settings.maxBatchSize > 1 && this.splittable;
      const rows = rowsOf(inputs);
      this.queuedRows += rows;
      this.queue.push({
        inputs,
        outputs,
        rows,
        key: batching ? batchKey(inputs, outputs) : '',
        enqueuedAt: now,
        deadline: now + this.options.timeoutMs,
        settled: false,
        resolve,
        reject,
      });
      this.startSweep();
      if (this.inlineNow()) {
        this.flush(); // a lone request on an idle server: no reason to wait for company
        return;
      }
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flushNow);
      }
    });
  }

  /** Lone requests, while the worker is idle, run on this session instead (small models only). */
  setInline(inline: InlineRunner | undefined): void {
    this.inline = inline;
  }

  /** Moves queued requests now (a worker became available). */
  submitPending(): void {
    this.flush();
  }

  /** Resolves when nothing is queued or running (used before a retired model's workers stop). */
  drain(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Fails whatever is still queued; running batches finish. */
  close(error: Error): void {
    this.closedWith = error;
    for (const job of this.queue.splice(0)) this.fail(job, error);
    this.queuedRows = 0;
    clearTimeout(this.delayTimer);
    this.stopSweep();
    this.checkDrained();
  }

  private flush(): void {
    if (this.inline && this.inlineNow()) {
      this.dispatch(this.take(this.queue.splice(0, 1)), this.inline);
      return;
    }
    while (this.queue.length > 0 && this.runner.hasIdle()) {
      const batch = this.takeBatch();
      if (!batch) return; // waiting for company (a delay timer is set)
      this.dispatch(batch, this.runner);
    }
  }

  /**
   * A lone request runs on the HTTP thread's session when nothing else is queued or running and
   * recent runs were single requests (low concurrency). Under load the HTTP thread's time is worth
   * more spent on HTTP, and requests go to the worker in batches.
   */
  private inlineNow(): boolean {
    const inline = this.inline;
    return (
      inline !== undefined &&
      !inline.busy &&
      this.queue.length === 1 &&
      this.running.size === 0 &&
      this.rowsPerRun < 1.5 &&
      this.options.settings.maxQueueDelayMs === 0 && // a queue delay asks to wait for company
      this.runner.hasIdle()
    );
  }

  /**
   * With several workers (compute-bound models) and no queue delay, a run takes at most half of
   * each worker's share of the requests in the system (queued + running): with a closed set of
   * clients, a worker that took every queued request would leave the others (and itself, while its
   * replies travel) nothing to do next. Half shares keep a batch waiting for each worker, so none
   * idles between runs; for compute-bound models smaller batches cost little. A single worker takes
   * all it can: there, every extra run costs a hand-off.
   */
  private batchCap(): number {
    const { maxBatchSize, maxQueueDelayMs } = this.options.settings;
    if (maxQueueDelayMs > 0 || this.runner.size <= 1) return maxBatchSize;
    const share = Math.ceil((this.queuedRows + this.runningRows) / (2 * Math.max(1, this.runner.size)));
    return Math.max(1, Math.min(maxBatchSize, share));
  }

  private takeBatch(): Job[] | undefined {
    const head = this.queue[0] as Job;
    const { maxQueueDelayMs } = this.options.settings;
    const maxBatchSize = this.batchCap();
    if (this.options.settings.maxBatchSize <= 1 || !this.splittable || head.rows >= maxBatchSize) {
      return this.take(this.queue.splice(0, 1));
    }
    const batch = [head];
    let rows = head.rows;
    const rest: Job[] = [];
    let i = 1;
    for (; i < this.queue.length && rows < maxBatchSize; i++) {
      const job = this.queue[i] as Job;
      if (job.key === head.key && rows + job.rows <= maxBatchSize) {
        batch.push(job);
        rows += job.rows;
      } else rest.push(job);
    }
    if (rows < this.options.settings.maxBatchSize && maxQueueDelayMs > 0) {
      const waited = performance.now() - head.enqueuedAt;
      if (waited < maxQueueDelayMs) {
        clearTimeout(this.delayTimer);
        this.delayTimer = setTimeout(this.flushNow, maxQueueDelayMs - waited);
        return undefined;
      }
    }
    clearTimeout(this.delayTimer);
    this.queue = rest.length === 0 ? this.queue.slice(i) : rest.concat(this.queue.slice(i));
    return this.take(batch);
  }

  private take(batch: Job[]): Job[] {
    for (const job of batch) this.queuedRows -= job.rows;
    return batch;
  }

  private dispatch(batch: Job[], runner: BatchRunner | InlineRunner): void {
    const started = performance.now();
    const { observer, model } = this.options;
    let rows = 0;
    for (const job of batch) {
      rows += job.rows;
      observer?.queued(model, started - job.enqueuedAt);
    }
    this.rowsPerRun = 0.8 * this.rowsPerRun + 0.2 * batch.length;
    const first = batch[0] as Job;
    const inputs = batch.length === 1 ? first.inputs : stackInputs(batch);
    this.running.add(batch);
    this.runningRows += rows;
    runner.run(inputs, first.outputs).then(
      (result) => {
        // The next batch goes to the worker before these replies are written, so the session
        // computes while the HTTP thread sends.
        this.running.delete(batch);
        this.runningRows -= rows;
        this.flush();
        observer?.batch(model, rows, result.runMs);
        this.deliver(batch, rows, result);
        this.flush(); // requests put back by deliver (outputs that could not be split)
        this.checkDrained();
      },
      (error: Error) => {
        this.running.delete(batch);
        this.runningRows -= rows;
        for (const job of batch) this.fail(job, error);
        this.flush();
        this.checkDrained();
      },
    );
  }

  private deliver(batch: Job[], rows: number, result: InferResult): void {
    if (batch.length === 1) {
      const job = batch[0] as Job;
      if (!job.settled) {
        job.settled = true;
        job.resolve(result);
      }
      return;
    }
    for (const name in result.outputs) {
      if ((result.outputs[name] as TensorData).dims[0] !== rows) {
        // The outputs do not follow the batch dimension: score these requests (and all later ones) alone.
        this.splittable = false;
        const again = batch.filter((j) => !j.settled);
        for (const job of again) this.queuedRows += job.rows;
        this.queue.unshift(...again);
        return;
      }
    }
    let offset = 0;
    for (const job of batch) {
      const outputs: Record<string, TensorData> = {};
      for (const name in result.outputs)
        outputs[name] = sliceRows(result.outputs[name] as TensorData, offset, job.rows);
      offset += job.rows;
      if (!job.settled) {
        job.settled = true;
        job.resolve({ outputs, runMs: result.runMs });
      }
    }
  }

  private fail(job: Job, error: Error): void {
    if (job.settled) return;
    job.settled = true;
    job.reject(error);
  }

  private checkDrained(): void {
    if (this.pending > 0) return;
    this.stopSweep();
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  // One timer per model (not per request) enforces the scoring timeout.
  private startSweep(): void {
    if (this.sweepTimer) return;
    const every = Math.max(5, Math.min(1000, this.options.timeoutMs / 4));
    this.sweepTimer = setInterval(() => this.sweep(), every);
    this.sweepTimer.unref();
  }

  private stopSweep(): void {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private sweep(): void {
    const now = performance.now();
    const timeout = () =>
      new ScoringError(500, 'SCORING_TIMEOUT', `Scoring timeout after ${this.options.timeoutMs} ms`);
    if (this.queue.some((j) => j.deadline <= now)) {
      const expired = this.queue.filter((j) => j.deadline <= now);
      this.queue = this.queue.filter((j) => j.deadline > now);
      this.take(expired);
      for (const job of expired) this.fail(job, timeout());
    }
    for (const batch of this.running)
      for (const job of batch) if (job.deadline <= now) this.fail(job, timeout());
    if (this.queue.length === 0 && this.running.size === 0) this.checkDrained();
  }
}

function stackInputs(batch: readonly Job[]): Record<string, TensorData> {
  const inputs: Record<string, TensorData> = {};
  for (const name in (batch[0] as Job).inputs) {
    inputs[name] = concatRows(batch.map((j) => j.inputs[name] as TensorData));
  }
  return inputs;
}
