import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isModelportError } from '../../common/errors.js';

/** `{"error": {"code", "message"}, "message"}`: modelport's shape beside Azure ML's `message`. */
export function errorBody(code: string, message: string, requestId?: string): Record<string, unknown> {
  return { error: { code, message, ...(requestId ? { requestId } : {}) }, message };
}

// Fastify's own client errors, renamed so clients see one vocabulary.
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'JSON_INVALID',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BODY_EMPTY',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'MEDIA_TYPE_UNSUPPORTED',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'CONTENT_LENGTH_INVALID',
  FST_ERR_VALIDATION: 'REQUEST_INVALID',
};

/** Status and public code/message of anything a handler threw; 5xx details never reach the client. */
export function classifyError(error: unknown): { status: number; code: string; message: string } {
  if (isModelportError(error)) return { status: error.httpStatus, code: error.code, message: error.message };
  const e = error as Partial<FastifyError> & { status?: number; type?: string };
  const status = e.statusCode ?? e.status ?? 500;
  if (status < 500) {
    const code =
      (e.code && FASTIFY_CODES[e.code]) ??
      (e.code?.startsWith('FST_') ? 'BAD_REQUEST' : (e.code ?? 'BAD_REQUEST'));
    return { status, code, message: e.message ?? 'bad request' };
  }
  return {
    status: 500,
    code: 'INTERNAL',
    message: 'An unexpected error occurred; see the server log for this request id.',
  };
}

export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, code, message } = classifyError(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code, status }, message);
    void reply.code(status).send(errorBody(code, message, request.id));
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    void reply
      .code(404)
      .send(errorBody('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
}
