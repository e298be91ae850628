/**
 * Per-model figures of a scoring module from its Prometheus metrics: requests, server and client
 * errors, and latency (mean and p50/p90/p99). Latency quantiles come from a summary's `quantile`
 * samples when the server exports a summary, else they are estimated from histogram buckets the
 * way PromQL's histogram_quantile does (linear within the bucket). Pure.
 */
import type { MetricFamily, Sample } from './prometheus-text.js';

/** Metric names of modules/scoring (prom-client); another server can name its own. */
export interface ScoringMetricNames {
  requests: string;
  latency: string;
}

export const SCORING_METRIC_NAMES: ScoringMetricNames = {
  requests: 'modelport_requests_total',
  latency: 'modelport_request_duration_seconds',
};

export interface ModelFigures {
  model: string;
  requests: number;
  /** Replies with status ≥ 500. */
  errors: number;
  /** Replies with status 400–499. */
  clientErrors: number;
  latencySeconds: { mean?: number; p50?: number; p90?: number; p99?: number };
}

const QUANTILES = [
  ['p50', 0.5],
  ['p90', 0.9],
  ['p99', 0.99],
] as const;

export function scoringFigures(
  families: readonly MetricFamily[],
  names: ScoringMetricNames = SCORING_METRIC_NAMES,
): ModelFigures[] {
  const byModel = new Map<string, ModelFigures>();
  const figures = (model: string) => {
    let f = byModel.get(model);
    if (!f) {
      f = { model, requests: 0, errors: 0, clientErrors: 0, latencySeconds: {} };
      byModel.set(model, f);
    }
    return f;
  };
  const requests = families.find(
    (f) => f.name === names.requests || f.name === names.requests.replace(/_total$/, ''),
  );
  for (const s of requests?.samples ?? []) {
    if (s.name.endsWith('_created')) continue;
    const f = figures(s.labels.model ?? '');
    f.requests += s.value;
    const status = Number(s.labels.status ?? s.labels.code ?? 0);
    if (status >= 500) f.errors += s.value;
    else if (status >= 400) f.clientErrors += s.value;
  }
  const latency = families.find((f) => f.name === names.latency);
  if (latency) {
    for (const [model, samples] of groupBy(latency.samples, (s) => s.labels.model ?? '')) {
      figures(model).latencySeconds = latencyOf(latency.type, samples);
    }
  }
  return [...byModel.values()].sort((a, b) => a.model.localeCompare(b.model));
}

function latencyOf(type: MetricFamily['type'], samples: readonly Sample[]): ModelFigures['latencySeconds'] {
  const sum = total(samples.filter((s) => s.name.endsWith('_sum')));
  const count = total(samples.filter((s) => s.name.endsWith('_count')));
  const out: ModelFigures['latencySeconds'] = count > 0 ? { mean: sum / count } : {};
  if (type === 'summary') {
    for (const [key, q] of QUANTILES) {
      const values = samples.filter((s) => Number(s.labels.quantile) === q && Number.isFinite(s.value));
      // Several label sets (routes) cannot be merged exactly: report the worst.
      if (values.length > 0) out[key] = Math.max(...values.map((s) => s.value));
    }
  } else if (type === 'histogram') {
    const buckets = new Map<number, number>();
    for (const s of samples.filter((x) => x.name.endsWith('_bucket'))) {
      const le = parseLe(s.labels.le);
      if (le !== undefined) buckets.set(le, (buckets.get(le) ?? 0) + s.value);
    }
    const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
    for (const [key, q] of QUANTILES) {
      const v = histogramQuantile(q, sorted);
      if (v !== undefined) out[key] = v;
    }
  }
  return out;
}

/** PromQL's histogram_quantile over cumulative buckets [upper bound, count], +Inf last. */
export function histogramQuantile(
  q: number,
  buckets: ReadonlyArray<readonly [number, number]>,
): number | undefined {
  const last = buckets.at(-1);
  if (!last || last[0] !== Number.POSITIVE_INFINITY || last[1] === 0) return undefined;
  const rank = q * last[1];
  let prevBound = 0;
  let prevCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      // In the +Inf bucket the best answer is the largest finite bound.
      if (bound === Number.POSITIVE_INFINITY) return prevBound;
      if (count === prevCount) return bound;
      return prevBound + (bound - prevBound) * ((rank - prevCount) / (count - prevCount));
    }
    prevBound = bound;
    prevCount = count;
  }
  return undefined;
}

function parseLe(le: string | undefined): number | undefined {
  if (le === undefined) return undefined;
  if (le === '+Inf' || le === 'Inf') return Number.POSITIVE_INFINITY;
  const n = Number(le);
  return Number.isFinite(n) ? n : undefined;
}

function total(samples: readonly Sample[]): number {
  return samples.reduce((n, s) => n + s.value, 0);
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) out.set(key(item), [...(out.get(key(item)) ?? []), item]);
  return out;
}
