import autocannon from 'autocannon';

export interface LoadResult {
  /** Mean requests per second over the run. */
  rps: number;
  total: number;
  errors: number;
  non2xx: number;
  /** Per-request latencies in ms, measured by the load generator (sub-millisecond resolution). */
  latencies: number[];
}

/**
 * One autocannon run against a POST endpoint. autocannon's own histogram keeps whole milliseconds,
 * so latencies are taken from its per-response events (hrtime, fractions of a millisecond).
 */
export async function postLoad(options: {
  url: string;
  body: string;
  connections: number;
  seconds: number;
  recordLatency?: boolean;
}): Promise<LoadResult> {
  const latencies: number[] = [];
  // autocannon returns an emitter that is also a promise of the result.
  const instance = autocannon({
    url: options.url,
    method: 'POST',
    body: options.body,
    headers: { 'content-type': 'application/json' },
    connections: options.connections,
    duration: options.seconds,
  });
  if (options.recordLatency) {
    (instance as unknown as NodeJS.EventEmitter).on(
      'response',
      (_client: unknown, status: number, _bytes: number, ms: number) => {
        if (status === 200) latencies.push(ms);
      },
    );
  }
  const result = await instance;
  return {
    rps: result.requests.total / options.seconds,
    total: result.requests.total,
    errors: result.errors,
    non2xx: result.non2xx,
    latencies,
  };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
