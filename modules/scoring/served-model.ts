import type { BatchSettings } from './batching/batch-settings.js';
import { Batcher, type BatchObserver, type InferResult } from './batching/batcher.js';
import type { InlineSession } from './inline-session.js';
import type { ModelSource } from './model-source.js';
import type { TensorData, TensorMeta } from './tensor.js';
import type { SessionPool } from './worker/session-pool.js';

/** What routes need to know about a served model version. */
export interface ServedModel {
  name: string;
  version: string;
  file: string;
  inputs: TensorMeta[];
  outputs: TensorMeta[];
  loadMs: number;
  /** Execution providers its sessions run on. */
  providers: string[];
  batching: BatchSettings;
}

/** A served model version with its workers and its request queue. */
export class LoadedModel implements ServedModel {
  readonly name: string;
  readonly version: string;
  readonly file: string;
  readonly inputs: TensorMeta[];
  readonly outputs: TensorMeta[];
  readonly loadMs: number;
  private readonly batcher: Batcher;
  private inline: InlineSession | undefined;

  constructor(
    source: ModelSource,
    private readonly pool: SessionPool,
    readonly providers: string[],
    readonly batching: BatchSettings,
    queue: { timeoutMs: number; maxQueue: number; observer?: BatchObserver },
  ) {
    this.name = source.name;
    this.version = source.version;
    this.file = source.file;
    this.inputs = pool.model.inputs;
    this.outputs = pool.model.outputs;
    this.loadMs = pool.model.loadMs;
    this.batcher = new Batcher(pool, {
      model: source.name,
      settings: batching,
      timeoutMs: queue.timeoutMs,
      maxQueue: queue.maxQueue,
      ...(queue.observer ? { observer: queue.observer } : {}),
    });
    pool.onCapacity = () => this.batcher.submitPending();
  }

  /** Median batch-1 run time measured when the model loaded (ms). */
  get warmRunMs(): number | undefined {
    return this.pool.model.warmRunMs;
  }

  get workers(): number {
    return this.pool.size;
  }

  get intraOpThreads(): number {
    return this.pool.intraOpThreads;
  }

  /** Scores through the model's queue; concurrent requests may share a session.run. */
  infer(inputs: Record<string, TensorData>, outputs?: string[]): Promise<InferResult> {
    return this.batcher.submit(inputs, outputs);
  }

  /** Stops taking requests only after the ones already accepted are answered, then stops the workers. */
  /** Lets lone requests run on the HTTP thread (see inline-session.ts). */
  useInline(inline: InlineSession): void {
    this.inline = inline;
    this.batcher.setInline(inline);
  }

  get runsInline(): boolean {
    return this.inline !== undefined;
  }

  async retire(): Promise<void> {
    await this.batcher.drain();
    await this.stop();
  }

  async close(reason: Error): Promise<void> {
    this.batcher.close(reason);
    await this.batcher.drain();
    await this.stop();
  }

  private async stop(): Promise<void> {
    this.batcher.setInline(undefined);
    await Promise.all([this.pool.close(), this.inline?.release()]);
    this.inline = undefined;
  }
}
