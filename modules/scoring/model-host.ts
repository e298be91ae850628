import { statSync } from 'node:fs';
import { totalmem } from 'node:os';
import type { Logger } from '../../common/logger.js';
import { type BatchingConfig, batchSettingsFor } from './batching/batch-settings.js';
import type { BatchObserver } from './batching/batcher.js';
import { notFound, ScoringError } from './errors.js';
import { chooseProviders, needsGpuScan, type ProviderChoice } from './execution-providers.js';
import { gatherHardwareFacts, type HardwareFacts } from './hardware.js';
import { InlineSession } from './inline-session.js';
import type { ModelSource } from './model-source.js';
import { LoadedModel, type ServedModel } from './served-model.js';
import { shouldReshape, type ThreadingPlan } from './session-options.js';
import { SessionPool } from './worker/session-pool.js';

export type { ServedModel } from './served-model.js';

export type HostState = 'loading' | 'ready' | 'failed';

export interface ModelHostOptions {
  threading: ThreadingPlan;
  batching?: BatchingConfig;
  /** Execution providers asked for (default cpu) and the list to use when they cannot run here. */
  providers?: { requested: string[]; fallback: string[] };
  /** Per-request limit, queue and run together (SCORING_TIMEOUT_MS). */
  timeoutMs: number;
  maxQueue: number;
  /**
   * Models whose batch-1 run took at most this long at load (ms) also get a session on the HTTP
   * thread for lone requests (inline-session.ts); 0 turns this off.
   */
  inlineRunMaxMs: number;
  observer?: BatchObserver & { modelLoaded(model: string, version: string, ms: number): void };
  logger: Logger;
}

/**
 * The models this server scores with, each version in its own pool of session workers behind its
 * own request queue. Loading starts at construction and runs in the background, so liveness answers
 * while a large model loads. A model can be swapped for another version while serving: the new
 * version loads beside the old, traffic switches, the old one drains and stops.
 */
export class ModelHost {
  private readonly current = new Map<string, LoadedModel>();
  private expected: ModelSource[];
  private failure: Error | undefined;
  private closed = false;
  private choice: ProviderChoice | undefined;
  private facts: HardwareFacts | undefined;
  private swapping = Promise.resolve();
  /** Settles when every model has loaded (or one failed); never rejects unobserved. */
  readonly loaded: Promise<void>;

  constructor(
    sources: readonly ModelSource[],
    private readonly options: ModelHostOptions,
  ) {
    this.expected = [...sources];
    this.loaded = this.loadAll();
    this.loaded.catch(() => undefined);
  }

  /** The models this server is configured to serve (loaded or not), in order. */
  get sources(): readonly ModelSource[] {
    return this.expected;
  }

  get state(): HostState {
    if (this.failure) return 'failed';
    return this.expected.every((s) => this.current.has(s.name)) ? 'ready' : 'loading';
  }

  get loadError(): Error | undefined {
    return this.failure;
  }

  /** Which execution providers sessions use and why; undefined until the first model starts loading. */
  get providerChoice(): ProviderChoice | undefined {
    return this.choice;
  }

  get hardware(): HardwareFacts | undefined {
    return this.facts;
  }

  list(): ServedModel[] {
    return [...this.current.values()];
  }

  isReady(name: string): boolean {
    return this.current.has(name);
  }

  /** The served model of that name (and version, when given), or a 404 naming what is served. */
  get(name: string, version?: string): LoadedModel {
    const model = this.current.get(name);
    if (model && (version === undefined || version === model.version)) return model;
    const known = this.expected.find(
      (s) => s.name === name && (version === undefined || s.version === version),
    );
    if (known) throw new ScoringError(503, 'MODEL_NOT_READY', `model '${name}' is still loading`);
    const served = this.expected.map((s) => `${s.name}:${s.version}`).join(', ');
    throw notFound(
      'MODEL_NOT_FOUND',
      `model '${name}${version ? `' version '${version}` : ''}' is not served here (serving: ${served || 'none'})`,
    );
  }

  /** The model /score uses: the only one, or the one named. */
  defaultModel(requested?: string): LoadedModel {
    if (requested) return this.get(requested);
    const only = this.expected.length === 1 ? this.expected[0] : undefined;
    if (only) return this.get(only.name);
    if (this.expected.length === 0) throw notFound('MODEL_NOT_FOUND', 'this server serves no model');
    throw new ScoringError(
      400,
      'MODEL_REQUIRED',
      `several models are served (${this.expected.map((s) => s.name).join(', ')}); name one with ?model=NAME or use /v2/models/{name}/infer`,
    );
  }

  /**
   * Serves `source` under its name: loads it beside the running version (which keeps answering),
   * switches traffic, then retires the old version once its accepted requests are answered.
   * Swaps run one at a time.
   */
  swap(source: ModelSource): Promise<ServedModel> {
    const run = this.swapping.then(async () => {
      await this.loaded.catch(() => undefined);
      if (this.closed) throw new ScoringError(503, 'SERVER_CLOSING', 'the server is shutting down');
      const fresh = await this.load(source);
      const old = this.current.get(source.name);
      this.current.set(source.name, fresh);
      const at = this.expected.findIndex((s) => s.name === source.name);
      this.expected = at === -1 ? [...this.expected, source] : this.expected.with(at, source);
      this.options.logger.info(
        { model: source.name, version: source.version, previous: old?.version },
        'model version switched',
      );
      if (old) {
        void old.retire().then(
          () =>
            this.options.logger.info({ model: old.name, version: old.version }, 'previous version retired'),
          (e: unknown) => this.options.logger.warn({ model: old.name, err: e }, 'retiring a version failed'),
        );
      }
      return fresh as ServedModel;
    });
    this.swapping = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Stops serving a model (its accepted requests are answered first). */
  async remove(name: string): Promise<void> {
    const model = this.get(name);
    this.current.delete(name);
    this.expected = this.expected.filter((s) => s.name !== name);
    await model.retire();
  }

  async close(): Promise<void> {
    this.closed = true;
    const closing = new ScoringError(503, 'SERVER_CLOSING', 'the server is shutting down');
    await Promise.all([...this.current.values()].map((m) => m.close(closing)));
    this.current.clear();
  }

  private async loadAll(): Promise<void> {
    if (this.expected.length === 0) return;
    // One model at a time: loading is CPU- and memory-heavy, and parallel loads only compete.
    for (const source of [...this.expected]) {
      if (this.closed) return;
      try {
        const model = await this.load(source);
        if (this.closed) {
          await model.close(new ScoringError(503, 'SERVER_CLOSING', 'the server is shutting down'));
          return;
        }
        this.current.set(source.name, model);
      } catch (e) {
        this.failure = e as Error;
        this.options.logger.error({ model: source.name, err: e }, 'model failed to load');
        throw e;
      }
    }
  }

  private async providers(): Promise<ProviderChoice> {
    if (this.choice) return this.choice;
    const { requested = [], fallback = [] } = this.options.providers ?? {};
    this.facts = await gatherHardwareFacts({ gpus: needsGpuScan([...requested, ...fallback]) });
    this.choice = chooseProviders(requested, fallback, this.facts);
    const facts = { executionProviders: this.choice, cpu: this.facts.cpu, gpus: this.facts.gpus };
    if (this.choice.reason.startsWith('fell back')) {
      this.options.logger.warn(
        facts,
        `execution providers: ${this.choice.chosen.join(', ')} (${this.choice.reason})`,
      );
    } else this.options.logger.info(facts, `execution providers: ${this.choice.chosen.join(', ')}`);
    return this.choice;
  }

  private async load(source: ModelSource): Promise<LoadedModel> {
    const choice = await this.providers();
    const { threading } = this.options;
    let providers = choice.chosen;
    let pool: SessionPool;
    try {
      pool = await SessionPool.start(
        source.name,
        source.file,
        { ...threading.settings, executionProviders: providers },
        threading.workersPerModel,
      );
    } catch (e) {
      // A provider that looked usable may still fail to create a session (driver, library version).
      if (
        choice.fallback.length === 0 ||
        providers === choice.fallback ||
        providers.every((p) => p === 'cpu')
      )
        throw e;
      this.options.logger.warn(
        { model: source.name, providers, fallback: choice.fallback, err: e },
        `model '${source.name}' did not load on ${providers.join(', ')}; falling back to ${choice.fallback.join(', ')}`,
      );
      providers = choice.fallback;
      pool = await SessionPool.start(
        source.name,
        source.file,
        { ...threading.settings, executionProviders: providers },
        threading.workersPerModel,
      );
    }
    pool = await this.reshape(pool, source, providers);
    const batching = batchSettingsFor(
      { name: source.name, inputs: pool.model.inputs, outputs: pool.model.outputs },
      this.options.batching,
    );
    const model = new LoadedModel(source, pool, providers, batching, {
      timeoutMs: this.options.timeoutMs,
      maxQueue: this.options.maxQueue,
      ...(this.options.observer ? { observer: this.options.observer } : {}),
    });
    this.options.observer?.modelLoaded(source.name, source.version, model.loadMs);
    await this.maybeInline(model, providers);
    this.options.logger.info(
      {
        model: source.name,
        version: source.version,
        loadMs: Math.round(model.loadMs),
        workers: model.workers,
        providers,
        batching: model.batching,
        warmRunMs: model.warmRunMs,
        inline: model.runsInline,
      },
      'model loaded',
    );
    return model;
  }

  /** A compute-bound model under an automatic plan: one single-threaded worker per core (session-options.ts). */
  private async reshape(pool: SessionPool, source: ModelSource, providers: string[]): Promise<SessionPool> {
    const plan = this.options.threading;
    const warm = pool.model.warmRunMs;
    const model = { warmRunMs: warm, fileBytes: statSync(source.file).size, providers };
    if (!shouldReshape(plan, model, totalmem())) return pool;
    const settings = { ...plan.settings, intraOpNumThreads: 1, executionProviders: providers };
    try {
      const wide = await SessionPool.start(source.name, source.file, settings, plan.cores);
      await pool.close();
      this.options.logger.info(
        { model: source.name, warmRunMs: warm, workers: plan.cores, intraOpThreads: 1 },
        'compute-bound model: one single-threaded worker per core',
      );
      return wide;
    } catch (e) {
      this.options.logger.warn({ model: source.name, err: e }, 'could not add workers; keeping one');
      return pool;
    }
  }

  private async maybeInline(model: LoadedModel, providers: string[]): Promise<void> {
    const limit = this.options.inlineRunMaxMs;
    const warm = model.warmRunMs;
    if (limit <= 0 || warm === undefined || warm > limit || providers.some((p) => p !== 'cpu')) return;
    try {
      const tensors = model.outputs.filter((o) => o.type !== 'non-tensor').map((o) => o.name);
      const fetches = tensors.length === model.outputs.length ? undefined : tensors;
      model.useInline(await InlineSession.create(model.file, this.options.threading.settings, fetches));
    } catch (e) {
      this.options.logger.warn(
        { model: model.name, err: e },
        'no inline session; every request goes to the worker',
      );
    }
  }
}
