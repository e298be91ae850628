import type { InferResult } from './batching/batcher.js';
import type { TensorData } from './tensor.js';
import type { SessionSettings } from './worker/protocol.js';

type Ort = typeof import('onnxruntime-node');
type Session = Awaited<ReturnType<Ort['InferenceSession']['create']>>;

/**
 * A second session of a small model on the HTTP thread, used only when the server is otherwise
 * idle (nothing queued, the worker free). For a model whose run takes tens of microseconds,
 * handing a lone request to a worker and back costs more than the run: two thread wake-ups, which
 * on a busy machine are each as long as the run. Under load the worker takes the requests, in
 * batches. One intra-op thread: the HTTP thread must not fan out.
 */
export class InlineSession {
  private running = false;

  private constructor(
    private readonly ort: Ort,
    private readonly session: Session,
    /** Outputs fetched when a request names none (tensor outputs only, as in the worker). */
    private readonly defaultOutputs: string[] | undefined,
  ) {}

  static async create(
    file: string,
    settings: SessionSettings,
    defaultOutputs?: string[],
  ): Promise<InlineSession> {
    process.env.ORT_DISABLE_TELEMETRY ??= '1';
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(file, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: settings.graphOptimizationLevel,
      enableCpuMemArena: settings.enableCpuMemArena,
      enableMemPattern: settings.enableMemPattern,
      executionProviders: ['cpu'],
      executionMode: 'sequential',
    });
    return new InlineSession(ort, session, defaultOutputs);
  }

  get busy(): boolean {
    return this.running;
  }

  async run(inputs: Record<string, TensorData>, outputs: string[] | undefined): Promise<InferResult> {
    this.running = true;
    try {
      const feeds: Record<string, InstanceType<Ort['Tensor']>> = {};
      for (const name in inputs) {
        const t = inputs[name] as TensorData;
        feeds[name] = new this.ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
      }
      const started = performance.now();
      const fetches = outputs ?? this.defaultOutputs;
      const results = fetches ? await this.session.run(feeds, fetches) : await this.session.run(feeds);
      const runMs = performance.now() - started;
      const out: Record<string, TensorData> = {};
      for (const name in results) {
        const tensor = results[name] as InstanceType<Ort['Tensor']>;
        out[name] = {
          type: tensor.type as TensorData['type'],
          dims: [...tensor.dims],
          data: tensor.data as TensorData['data'],
        };
      }
      return { outputs: out, runMs };
    } finally {
      this.running = false;
    }
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
