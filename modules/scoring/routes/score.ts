import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { badInput, ScoringError } from '../errors.js';
import { FastScoreDecoder } from '../fast-score-body.js';
import { decodeScoreBody, encodeScoreResult } from '../score-body.js';

type ScoreRequest = FastifyRequest<{ Querystring: { model?: string } }>;

/**
 * Azure ML's scoring route on ONNX models: POST a `{"data": …}` body, get the predictions as JSON.
 * No fastify schema on the body: the tensor decoder checks it against the model, faster and with
 * messages that name the input.
 */
export async function scoreRoutes(app: FastifyInstance): Promise<void> {
  const host = app.modelHost;
  const fast = new FastScoreDecoder();
  app.post('/score', async (request: ScoreRequest, reply: FastifyReply) => {
    const model = host.defaultModel(request.query.model);
    request.metricsModel = model.name;
    const inputs = fast.decode(request.body, model) ?? decodeScoreBody(jsonBody(request.body), model);
    const started = performance.now();
    try {
      const { outputs } = await model.infer(inputs);
      reply
        .header('x-ms-run-fn-exec-ms', (performance.now() - started).toFixed(3))
        .header('x-ms-run-function-failed', 'False')
        .type('application/json');
      return reply.send(encodeScoreResult(outputs, model));
    } catch (e) {
      reply
        .header('x-ms-run-fn-exec-ms', (performance.now() - started).toFixed(3))
        .header('x-ms-run-function-failed', 'True');
      throw e;
    }
  });
  app.options('/score', async (_request, reply) => reply.code(200).send(''));
  app.get('/score', async () => {
    throw badInput(
      'METHOD_NEEDS_BODY',
      'GET /score has no input to score: POST a JSON body like {"data": [[...]]}',
    );
  });
  app.route({ method: ['PUT', 'DELETE', 'PATCH'], url: '/score', handler: methodNotAllowed });
}

export async function methodNotAllowed(): Promise<never> {
  throw new ScoringError(405, 'METHOD_NOT_ALLOWED', '/score accepts GET, POST and OPTIONS');
}

/** Bodies arrive as bytes (body-parsers.ts); /score and /v2 take JSON whatever the content type says. */
export function jsonBody(body: unknown): unknown {
  if (!Buffer.isBuffer(body) && typeof body !== 'string') return body ?? throwEmpty();
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.length === 0 || text.trim().length === 0) throwEmpty();
  try {
    return JSON.parse(text);
  } catch {
    throw badInput('JSON_INVALID', 'the request body is not valid JSON');
  }
}

function throwEmpty(): never {
  throw badInput('BODY_EMPTY', 'the request body is empty; send {"data": [[...]]}');
}
