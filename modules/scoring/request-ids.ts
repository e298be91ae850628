import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ScoringError } from './errors.js';

const MAX_ID_LENGTH = 100;
const ID_HEADERS = ['x-request-id', 'x-ms-client-request-id', 'x-ms-request-id'] as const;

/** The request id a client sent in x-request-id, or a new UUID (Fastify's genReqId). */
export function requestIdFrom(headers: Record<string, string | string[] | undefined>): string {
  const sent = headers['x-request-id'];
  return typeof sent === 'string' && sent.length > 0 && sent.length <= MAX_ID_LENGTH ? sent : randomUUID();
}

/** Client-visible ids as azureml-inference-server-http sets them (see the wire reference). */
export function registerRequestIds(app: FastifyInstance, serverVersion: string): void {
  // Callback style: an async hook would cost a promise on every request.
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: (e?: Error) => void) => {
    const h = request.headers;
    for (const name of ID_HEADERS) {
      const v = h[name];
      if (typeof v === 'string' && v.length > MAX_ID_LENGTH) {
        return done(
          new ScoringError(
            431,
            'HEADER_TOO_LARGE',
            `header ${name} is longer than ${MAX_ID_LENGTH} characters`,
          ),
        );
      }
    }
    const clientId = header(h['x-ms-client-request-id']) ?? header(h['x-ms-request-id']);
    reply.header('x-request-id', request.id);
    if (clientId) reply.header('x-ms-client-request-id', clientId);
    reply.header('x-ms-request-id', header(h['x-ms-request-id']) ?? clientId ?? request.id);
    reply.header('x-ms-server-version', serverVersion);
    done();
  });
}

/** The id a client knows this request by: its own client id when it sent one. */
export function clientRequestId(request: FastifyRequest): string {
  return (
    header(request.headers['x-ms-client-request-id']) ??
    header(request.headers['x-ms-request-id']) ??
    request.id
  );
}

function header(v: string | string[] | undefined): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}
