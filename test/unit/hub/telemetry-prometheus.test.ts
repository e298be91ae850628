import { Counter, Histogram, Registry, Summary } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PrometheusParseError, parsePrometheusText } from '../../../agent/telemetry/prometheus-text.js';
import { histogramQuantile, scoringFigures } from '../../../agent/telemetry/scoring-figures.js';

describe('Prometheus text parser', () => {
  it('reads families, escaped labels, special values and timestamps', () => {
    const text = [
      '# HELP http_requests_total The total number of HTTP requests.\\nSecond line with \\\\.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",code="200"} 1027 1395066363000',
      'http_requests_total{method="post",code="400"}    3 1395066363000',
      '',
      '# A plain comment',
      'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
      'metric_without_timestamp_and_labels 12.47',
      'something_weird{problem="division by zero"} +Inf -3982045',
      'nan_value NaN',
      '# TYPE rpc_duration_seconds summary',
      'rpc_duration_seconds{quantile="0.5",} 4773',
      'rpc_duration_seconds_sum 1.7560473e+07',
      'rpc_duration_seconds_count 2693',
    ].join('\n');
    const families = parsePrometheusText(text);
    const byName = Object.fromEntries(families.map((f) => [f.name, f]));
    expect(byName.http_requests_total?.type).toBe('counter');
    expect(byName.http_requests_total?.help).toBe('The total number of HTTP requests.\nSecond line with \\.');
    expect(byName.http_requests_total?.samples[1]).toEqual({
      name: 'http_requests_total',
      labels: { method: 'post', code: '400' },
      value: 3,
      timestampMs: 1395066363000,
    });
    expect(byName.msdos_file_access_time_seconds?.samples[0]?.labels).toEqual({
      path: 'C:\\DIR\\FILE.TXT',
      error: 'Cannot find file:\n"FILE.TXT"',
    });
    expect(byName.something_weird?.samples[0]).toMatchObject({
      value: Number.POSITIVE_INFINITY,
      timestampMs: -3982045,
    });
    expect(Number.isNaN(byName.nan_value?.samples[0]?.value)).toBe(true);
    expect(byName.rpc_duration_seconds?.samples.map((s) => s.name)).toEqual([
      'rpc_duration_seconds',
      'rpc_duration_seconds_sum',
      'rpc_duration_seconds_count',
    ]);
    expect(byName.rpc_duration_seconds_sum).toBeUndefined();
  });

  it.each([
    ['metric{a="1"', /expected ',' or '}'|not closed/],
    ['metric{a=1} 2', /not quoted/],
    ['metric{a="x\\q"} 2', /unknown escape/],
    ['metric', /expected a value/],
    ['metric abc', /'abc' is not a number/],
    ['metric 1 2 3', /expected a value/],
    ['metric 1 1.5', /timestamp '1.5'/],
    ['# TYPE metric thing', /unknown metric type/],
    ['9metric 1', /does not start with a metric name/],
  ])('rejects %j', (line, message) => {
    expect(() => parsePrometheusText(`ok 1\n${line}\n`)).toThrow(PrometheusParseError);
    expect(() => parsePrometheusText(`ok 1\n${line}\n`)).toThrow(message);
    expect(() => parsePrometheusText(`ok 1\n${line}\n`)).toThrow(/line 2/);
  });
});

describe('scoring figures', () => {
  it('sums requests and errors per model and estimates latency quantiles from a prom-client histogram', async () => {
    const registry = new Registry();
    const requests = new Counter({
      name: 'modelport_requests_total',
      help: 'requests',
      labelNames: ['route', 'model', 'status'],
      registers: [registry],
    });
    const latency = new Histogram({
      name: 'modelport_request_duration_seconds',
      help: 'latency',
      labelNames: ['route', 'model'],
      buckets: [0.01, 0.1, 1],
      registers: [registry],
    });
    requests.labels('/score', 'ridge', '200').inc(90);
    requests.labels('/v2', 'ridge', '200').inc(5);
    requests.labels('/score', 'ridge', '400').inc(3);
    requests.labels('/score', 'ridge', '500').inc(2);
    requests.labels('/score', 'mnist', '200').inc(1);
    for (let i = 0; i < 80; i += 1) latency.labels('/score', 'ridge').observe(0.005);
    for (let i = 0; i < 20; i += 1) latency.labels('/v2', 'ridge').observe(0.05);
    latency.labels('/score', 'mnist').observe(2);

    const figures = scoringFigures(parsePrometheusText(await registry.metrics()));
    expect(figures.map((f) => f.model)).toEqual(['mnist', 'ridge']);
    const ridge = figures[1];
    expect(ridge).toMatchObject({ model: 'ridge', requests: 100, errors: 2, clientErrors: 3 });
    expect(ridge?.latencySeconds.mean).toBeCloseTo((80 * 0.005 + 20 * 0.05) / 100, 9);
    // 80 of 100 in (0, 0.01]: p50 is at 50/80 of that bucket; p90 half-way through (0.01, 0.1].
    expect(ridge?.latencySeconds.p50).toBeCloseTo(0.01 * (50 / 80), 9);
    expect(ridge?.latencySeconds.p90).toBeCloseTo(0.01 + 0.09 * (10 / 20), 9);
    // mnist's one request is above the largest bucket: the quantile is that bucket's bound.
    expect(figures[0]?.latencySeconds.p99).toBe(1);
  });

  it('reads quantiles from a summary when the server exports one', async () => {
    const registry = new Registry();
    const latency = new Summary({
      name: 'modelport_request_duration_seconds',
      help: 'latency',
      labelNames: ['model'],
      percentiles: [0.5, 0.9, 0.99],
      registers: [registry],
    });
    for (let i = 1; i <= 100; i += 1) latency.labels('ridge').observe(i / 1000);
    const [ridge] = scoringFigures(parsePrometheusText(await registry.metrics()));
    expect(ridge?.latencySeconds.p50).toBeCloseTo(0.0505, 3);
    expect(ridge?.latencySeconds.p99).toBeGreaterThan(0.098);
  });

  it('computes histogram_quantile like PromQL', () => {
    const inf = Number.POSITIVE_INFINITY;
    expect(
      histogramQuantile(0.5, [
        [1, 0],
        [2, 10],
        [inf, 10],
      ]),
    ).toBe(1.5);
    expect(
      histogramQuantile(0.5, [
        [1, 0],
        [inf, 0],
      ]),
    ).toBeUndefined();
    expect(histogramQuantile(0.5, [[1, 10]])).toBeUndefined();
  });
});
