import type { Logger } from '../../common/logger.js';
import { notFound, ScoringError } from './errors.js';
import type { ModelSource } from './model-source.js';
import type { ThreadingPlan } from './session-options.js';
import type { TensorData, TensorMeta } from './tensor.js';
import { type InferResult, SessionPool } from './worker/session-pool.js';

export interface ServedModel {
  name: string;
  version: string;
  file: string;
  inputs: TensorMeta[];
  outputs: TensorMeta[];
  loadMs: number;
}

export type HostState = 'loading' | 'ready' | 'failed';

/**
 * The models this server scores with, each in its own pool of session workers. Loading starts at
 * construction and runs in the background, so liveness answers while a large model loads.
 */
export class ModelHost {
  private readonly pools = new Map<string, SessionPool>();
  private readonly served = new Map<string, ServedModel>();
  private failure: Error | undefined;
  private closed = false;
  /** Settles when every model has loaded (or one failed); never rejects unobserved. */
  readonly loaded: Promise<void>;

  constructor(
    readonly sources: readonly ModelSource[],
    private readonly threading: ThreadingPlan,
    private readonly logger: Logger,
  ) {
    this.loaded = this.loadAll();
    this.loaded.catch(() => undefined);
  }

  get state(): HostState {
    if (this.failure) return 'failed';
    return this.served.size === this.sources.length ? 'ready' : 'loading';
  }

  get loadError(): Error | undefined {
    return this.failure;
  }

  list(): ServedModel[] {
    return [...this.served.values()];
  }

  isReady(name: string): boolean {
    return this.served.has(name);
  }

  /** The served model of that name (and version, when given), or a 404 naming what is served. */
  get(name: string, version?: string): ServedModel {
    const model = this.served.get(name);
    if (model && (version === undefined || version === model.version)) return model;
    const known = this.sources.find(
      (s) => s.name === name && (version === undefined || s.version === version),
    );
    if (known) {
      throw new ScoringError(503, 'MODEL_NOT_READY', `model '${name}' is still loading`, {});
    }
    const servedNames = this.sources.map((s) => `${s.name}:${s.version}`).join(', ');
    throw notFound(
      'MODEL_NOT_FOUND',
      `model '${name}${version ? `' version '${version}` : ''}' is not served here (serving: ${servedNames || 'none'})`,
    );
  }

  /** The model /score uses: the only one, or the one named. */
  defaultModel(requested?: string): ServedModel {
    if (requested) return this.get(requested);
    if (this.sources.length === 1 && this.sources[0]) return this.get(this.sources[0].name);
    throw new ScoringError(
      400,
      'MODEL_REQUIRED',
      `several models are served (${this.sources.map((s) => s.name).join(', ')}); name one with ?model=NAME or use /v2/models/{name}/infer`,
    );
  }

  infer(model: ServedModel, inputs: Record<string, TensorData>, outputs?: string[]): Promise<InferResult> {
    const pool = this.pools.get(model.name);
    if (!pool)
      return Promise.reject(new ScoringError(503, 'MODEL_NOT_READY', `model '${model.name}' is not loaded`));
    return pool.infer(inputs, outputs);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.pools.values()].map((p) => p.close()));
    this.pools.clear();
  }

  private async loadAll(): Promise<void> {
    // One model at a time: loading is CPU- and memory-heavy, and parallel loads only compete.
    for (const source of this.sources) {
      if (this.closed) return;
      try {
        const pool = await SessionPool.start(
          source.name,
          source.file,
          this.threading.settings,
          this.threading.workersPerModel,
        );
        if (this.closed) {
          await pool.close();
          return;
        }
        this.pools.set(source.name, pool);
        this.served.set(source.name, {
          name: source.name,
          version: source.version,
          file: source.file,
          inputs: pool.model.inputs,
          outputs: pool.model.outputs,
          loadMs: pool.model.loadMs,
        });
        this.logger.info(
          {
            model: source.name,
            version: source.version,
            loadMs: Math.round(pool.model.loadMs),
            workers: pool.size,
          },
          'model loaded',
        );
      } catch (e) {
        this.failure = e as Error;
        this.logger.error({ model: source.name, err: e }, 'model failed to load');
        throw e;
      }
    }
  }
}
