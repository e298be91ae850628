/**
 * Counters and histograms for the per-request hot path, registered in a prom-client Registry like
 * its own metrics (the registry only calls get()). A label set is resolved once to a series object
 * the caller keeps; an observation is then a few array writes, where prom-client hashes the label
 * set and walks its buckets on every call (microseconds at thousands of requests a second).
 */
interface Value {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

export interface CounterSeries {
  value: number;
}

export interface HistogramSeries {
  /** Observations per bucket (not cumulative; made cumulative when scraped). */
  counts: Float64Array;
  sum: number;
  count: number;
}

abstract class FastMetric<S> {
  readonly aggregator = 'sum';
  protected readonly series = new Map<string, { labels: Record<string, string>; s: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
  ) {}

  /** The series of these label values (in labelNames order), created on first use. */
  labels(...values: string[]): S {
    const key = values.join('\u0000');
    let entry = this.series.get(key);
    if (!entry) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => {
        labels[n] = values[i] ?? '';
      });
      entry = { labels, s: this.create() };
      this.series.set(key, entry);
    }
    return entry.s;
  }

  reset(): void {
    this.series.clear();
  }

  protected abstract create(): S;
}

export class FastCounter extends FastMetric<CounterSeries> {
  readonly type = 'counter';

  protected create(): CounterSeries {
    return { value: 0 };
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Value[] }> {
    const values = [...this.series.values()].map(({ labels, s }) => ({ value: s.value, labels }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

export class FastHistogram extends FastMetric<HistogramSeries> {
  readonly type = 'histogram';

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
  }

  observe(series: HistogramSeries, value: number): void {
    series.sum += value;
    series.count++;
    const buckets = this.buckets;
    let i = 0;
    while (i < buckets.length && value > (buckets[i] as number)) i++;
    (series.counts as Float64Array)[i] = ((series.counts as Float64Array)[i] as number) + 1;
  }

  protected create(): HistogramSeries {
    return { counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 };
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Value[] }> {
    const values: Value[] = [];
    for (const { labels, s } of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i] as number;
        values.push({ value: cumulative, labels: { ...labels, le }, metricName: `${this.name}_bucket` });
      });
      values.push({ value: s.count, labels: { ...labels, le: '+Inf' }, metricName: `${this.name}_bucket` });
      values.push({ value: s.sum, labels, metricName: `${this.name}_sum` });
      values.push({ value: s.count, labels, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
