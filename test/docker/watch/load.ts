/**
 * A small keep-alive load for swap tests: `connections` loops, each sending one request after the
 * other over a shared keep-alive agent (so connections stay open across a swap), recording every
 * answer per loop and every failure (an error or a status other than 200).
 */
import http from 'node:http';

export interface LoadOptions {
  port: number;
  path: string;
  connections: number;
  /** JSON body: the requests are POSTs. */
  body?: unknown;
  /** Turns a 200 body into the value recorded (default: the body text). */
  read?: (body: string) => string;
}

export interface LoadResult {
  total: number;
  failures: string[];
  /** Answers in order, per loop. */
  perConnection: string[][];
}

export interface LoadRun {
  /** Resolves once `predicate` holds over all answers so far (checked as answers arrive). */
  until(predicate: (answers: string[]) => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<LoadResult>;
}

export function startLoad(options: LoadOptions): LoadRun {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const all: string[] = [];
  const failures: string[] = [];
  let stopped = false;
  let changed: (() => void) | undefined;

  const once = () =>
    new Promise<string>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: options.port,
          path: options.path,
          method: payload === undefined ? 'GET' : 'POST',
          agent,
          headers: payload === undefined ? {} : { 'content-type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
          });
          res.on('end', () =>
            res.statusCode === 200
              ? resolve(options.read ? options.read(text) : text)
              : reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`)),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });

  const loops = Array.from({ length: options.connections }, async () => {
    const seen: string[] = [];
    while (!stopped) {
      try {
        const value = await once();
        seen.push(value);
        all.push(value);
      } catch (e) {
        failures.push((e as Error).message);
      }
      changed?.();
    }
    return seen;
  });

  return {
    async until(predicate, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(all)) {
        if (Date.now() > deadline) {
          throw new Error(
            `load: condition not met after ${all.length} answers (last ${all.slice(-3).join(' | ')}); failures: ${failures.slice(0, 3).join(' | ')}`,
          );
        }
        await new Promise<void>((resolve) => {
          changed = resolve;
          setTimeout(resolve, 200);
        });
      }
    },
    async stop() {
      stopped = true;
      const perConnection = await Promise.all(loops);
      agent.destroy();
      return { total: all.length, failures, perConnection };
    },
  };
}
