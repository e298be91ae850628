import type autocannonType from 'autocannon';
import { ModelportError } from '../../common/errors.js';
import { lazyRequire } from '../../common/lazy-require.js';

const autocannon = lazyRequire<typeof autocannonType>('autocannon');

export interface LoadResult {
  /** Completed requests (any status). */
  requests: number;
  /** 2xx replies per second over the step. */
  throughput: number;
  latency: { p50: number; p90: number; p99: number };
  /** Connection errors + timeouts + non-2xx replies. */
  errors: number;
  seconds: number;
}

const HEADERS = { 'content-type': 'application/json' };

/**
 * Drives `POST /score` with autocannon at a fixed number of connections (each keeps one request in
 * flight: concurrency = connections) for `seconds`, cycling through the sample bodies. Latency
 * percentiles come from every 2xx response's time as autocannon measures it (high-resolution, in ms);
 * autocannon's own histogram keeps whole milliseconds, too coarse for sub-millisecond models.
 */
export async function drive(
  url: string,
  bodies: readonly string[],
  concurrency: number,
  seconds: number,
): Promise<LoadResult> {
  const times: number[] = [];
  const result = await new Promise<autocannonType.Result>((resolve, reject) => {
    const instance = autocannon()(
      {
        url: `${url}/score`,
        connections: concurrency,
        duration: seconds,
        pipelining: 1,
        timeout: 30,
        requests: bodies.map((body) => ({ method: 'POST', path: '/score', headers: HEADERS, body })),
      },
      (err: unknown, r: autocannonType.Result) => (err ? reject(err) : resolve(r)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) times.push(responseTime);
    });
  });
  const ok = result['2xx'];
  const duration = result.duration > 0 ? result.duration : seconds;
  times.sort((a, b) => a - b);
  return {
    requests: result.requests.total,
    throughput: ok / duration,
    latency: { p50: percentile(times, 50), p90: percentile(times, 90), p99: percentile(times, 99) },
    errors: result.errors + result.non2xx,
    seconds: duration,
  };
}

/** Nearest-rank percentile of sorted values (0 when there are none). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/**
 * Sends each sample body once and checks the server scores it, before any timed step: a server that
 * answers the sample with an error would otherwise be profiled answering errors quickly.
 */
export async function warmUp(url: string, bodies: readonly string[], rounds = 3): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    for (const body of bodies) {
      const res = await fetch(`${url}/score`, { method: 'POST', headers: HEADERS, body });
      const text = await res.text();
      if (res.status !== 200) {
        throw new ModelportError(
          'SAMPLE_REFUSED',
          `the server answered a sample request with ${res.status}: ${text.slice(0, 300)}`,
          {
            hint: 'check the sample against `GET /swagger.json` of `modelport serve`',
          },
        );
      }
    }
  }
}
