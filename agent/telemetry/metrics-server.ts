/**
 * The agent's `/metrics` endpoint (Prometheus text) on `--metrics-host:--metrics-port` (default
 * 127.0.0.1:9600). A port that cannot be taken does not stop the agent: a warning, and no endpoint.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { messageOf } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';

export const DEFAULT_METRICS_PORT = 9600;

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

export function metricsEvents(log: Logger) {
  return {
    listening: (host: string, port: number) =>
      log.info({ event: 'metrics-listening', host, port }, `metrics on http://${host}:${port}/metrics`),
    unavailable: (host: string, port: number, err: unknown) =>
      log.warn(
        { event: 'metrics-port-unavailable', host, port, err: messageOf(err) },
        `no /metrics endpoint: cannot listen on ${host}:${port} (${messageOf(err)}); the agent goes on without it (choose another --metrics-port, or 0 for none)`,
      ),
    scrapeFailed: (err: unknown) =>
      log.warn(
        { event: 'metrics-scrape-failed', err: messageOf(err) },
        `metrics scrape failed: ${messageOf(err)}`,
      ),
  };
}

/** Resolves to the running server, or undefined when the port cannot be taken (logged). */
export async function startMetricsServer(options: {
  host: string;
  port: number;
  registry: Registry;
  log: Logger;
}): Promise<MetricsServer | undefined> {
  const events = metricsEvents(options.log);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'only GET /metrics is served here' } }));
      return;
    }
    options.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': options.registry.contentType });
        res.end(text);
      },
      (e: unknown) => {
        events.scrapeFailed(e);
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'METRICS_FAILED', message: messageOf(e) } }));
      },
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    events.unavailable(options.host, options.port, e);
    return undefined;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  events.listening(options.host, port);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
