import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { badInput, ScoringError } from '../errors.js';
import { decodeScoreBody, encodeScoreResult } from '../score-body.js';

/** Azure ML's scoring route: POST a `{"data": …}` body, get the predictions as JSON. */
export async function scoreRoutes(app: FastifyInstance): Promise<void> {
  app.post(
    '/score',
    async (request: FastifyRequest<{ Querystring: { model?: string } }>, reply: FastifyReply) => {
      const host = app.modelHost;
      const model = host.defaultModel(request.query.model);
      const inputs = decodeScoreBody(jsonBody(request.body), model);
      const started = performance.now();
      const elapsed = () => (performance.now() - started).toFixed(3);
      try {
        const { outputs } = await host.infer(model, inputs);
        reply.header('x-ms-run-fn-exec-ms', elapsed()).header('x-ms-run-function-failed', 'False');
        return reply.type('application/json').send(encodeScoreResult(outputs, model));
      } catch (e) {
        reply.header('x-ms-run-fn-exec-ms', elapsed()).header('x-ms-run-function-failed', 'True');
        throw e;
      }
    },
  );
  app.options('/score', async (_request, reply) => reply.code(200).send(''));
  app.get('/score', async () => {
    throw badInput(
      'METHOD_NEEDS_BODY',
      'GET /score has no input to score: POST a JSON body like {"data": [[...]]}',
    );
  });
  app.route({
    method: ['PUT', 'DELETE', 'PATCH'],
    url: '/score',
    handler: async () => {
      throw new ScoringError(405, 'METHOD_NOT_ALLOWED', '/score accepts GET, POST and OPTIONS');
    },
  });
}

/** Bodies sent without a JSON content type arrive as text or bytes; they still have to be JSON. */
export function jsonBody(body: unknown): unknown {
  if (!Buffer.isBuffer(body) && typeof body !== 'string') return body ?? throwEmpty();
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim().length === 0) throwEmpty();
  try {
    return JSON.parse(text);
  } catch {
    throw badInput('JSON_INVALID', 'the request body is not valid JSON');
  }
}

function throwEmpty(): never {
  throw badInput('BODY_EMPTY', 'the request body is empty; send {"data": [[...]]}');
}
