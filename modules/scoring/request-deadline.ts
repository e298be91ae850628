import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * A body that stops arriving gets a 408 once `timeoutMs` has passed since the request started.
 * Node's own requestTimeout stops watching a request once its headers are in, so a client that
 * sends headers and then stalls (or a slow-body attack) would hold the connection and a parser
 * forever. One interval per server sweeps the requests whose bodies are still being read.
 */
export function registerRequestDeadline(app: FastifyInstance, timeoutMs: number): void {
  const reading = new Map<FastifyRequest, { started: number; reply: FastifyReply }>();
  let sweep: NodeJS.Timeout | undefined;
  const body = (ms: number) =>
    JSON.stringify({
      error: { code: 'REQUEST_TIMEOUT', message: `the request body did not arrive within ${ms} ms` },
      message: 'Request Timeout',
    });

  const check = () => {
    const now = performance.now();
    for (const [request, { started, reply }] of reading) {
      // Requests answered before their body was read (refused early) or gone just leave: node
      // discards the rest of such a body itself.
      if (request.raw.complete || request.raw.destroyed || reply.raw.headersSent) {
        reading.delete(request);
        continue;
      }
      if (now - started < timeoutMs) continue;
      reading.delete(request);
      const socket = request.raw.socket;
      const text = body(timeoutMs);
      if (socket.writable && !request.raw.complete) {
        socket.end(
          `HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
        );
      }
      socket.destroySoon?.();
    }
    if (reading.size === 0) {
      clearInterval(sweep);
      sweep = undefined;
    }
  };
  app.addHook('onRequest', (request, reply, done) => {
    if (
      !request.raw.complete &&
      request.headers['content-length'] !== '0' &&
      (request.headers['content-length'] || request.headers['transfer-encoding'])
    ) {
      reading.set(request, { started: performance.now(), reply });
      if (!sweep) {
        sweep = setInterval(check, Math.max(50, Math.min(1000, timeoutMs / 4)));
        sweep.unref();
      }
    }
    done();
  });
  // The body is in: stop watching it. (Requests that end earlier are dropped by the sweep.)
  const forget = (request: FastifyRequest, _reply: unknown, done: () => void) => {
    reading.delete(request);
    done();
  };
  app.addHook('preValidation', forget);
  app.addHook('onClose', (_app, done) => {
    clearInterval(sweep);
    reading.clear();
    done();
  });
}
