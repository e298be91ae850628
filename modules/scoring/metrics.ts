import { collectDefaultMetrics, Gauge, type Metric, Registry } from 'prom-client';
import type { BatchObserver } from './batching/batcher.js';
import { type CounterSeries, FastCounter, FastHistogram, type HistogramSeries } from './fast-metrics.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/**
 * The server's Prometheus metrics, in a registry of its own (never prom-client's global one, so
 * several servers in one process, as in tests, keep separate counts). Per-request metrics use
 * fast-metrics.ts with series resolved once per label set.
 */
export class ScoringMetrics implements BatchObserver {
  readonly registry = new Registry();
  private readonly requests = new FastCounter(
    'modelport_requests_total',
    'HTTP requests by route, model and status code',
    ['route', 'model', 'status'],
  );
  private readonly latency = new FastHistogram(
    'modelport_request_duration_seconds',
    'Time from request start to reply, by route and model',
    ['route', 'model'],
    LATENCY_BUCKETS,
  );
  private readonly queue = new FastHistogram(
    'modelport_queue_duration_seconds',
    'Time a request waited on the HTTP thread for a free session worker',
    ['model'],
    LATENCY_BUCKETS,
  );
  private readonly batchSize = new FastHistogram(
    'modelport_batch_size',
    'Rows per session.run (dynamic batching coalesces concurrent requests)',
    ['model'],
    BATCH_BUCKETS,
  );
  private readonly inference = new FastHistogram(
    'modelport_inference_duration_seconds',
    'Time inside session.run (or an entry script run), per run',
    ['model'],
    LATENCY_BUCKETS,
  );
  private readonly loadTime: Gauge<'model' | 'version'>;
  private readonly requestSeries = new Map<string, { count: CounterSeries; latency: HistogramSeries }>();
  private readonly modelSeries = new Map<
    string,
    { queue: HistogramSeries; batch: HistogramSeries; inference: HistogramSeries }
  >();

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'modelport_' });
    for (const m of [this.requests, this.latency, this.queue, this.batchSize, this.inference]) {
      this.registry.registerMetric(m as unknown as Metric);
    }
    this.loadTime = new Gauge({
      name: 'modelport_model_load_duration_seconds',
      help: 'Time onnxruntime took to load each served model version',
      labelNames: ['model', 'version'],
      registers: [this.registry],
    });
  }

  request(route: string, model: string, status: number, seconds: number): void {
    const key = `${route}\u0000${model}\u0000${status}`;
    let s = this.requestSeries.get(key);
    if (!s) {
      s = {
        count: this.requests.labels(route, model, String(status)),
        latency: this.latency.labels(route, model),
      };
      this.requestSeries.set(key, s);
    }
    s.count.value++;
    this.latency.observe(s.latency, seconds);
  }

  queued(model: string, ms: number): void {
    this.queue.observe(this.forModel(model).queue, ms / 1000);
  }

  batch(model: string, rows: number, runMs: number): void {
    const m = this.forModel(model);
    this.batchSize.observe(m.batch, rows);
    this.inference.observe(m.inference, runMs / 1000);
  }

  modelLoaded(model: string, version: string, ms: number): void {
    this.loadTime.labels(model, version).set(ms / 1000);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private forModel(model: string) {
    let m = this.modelSeries.get(model);
    if (!m) {
      m = {
        queue: this.queue.labels(model),
        batch: this.batchSize.labels(model),
        inference: this.inference.labels(model),
      };
      this.modelSeries.set(model, m);
    }
    return m;
  }
}
