import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type EntryHost,
  ScriptFailure,
  type ScriptInput,
  ScriptInputError,
  type ScriptResult,
} from '../entry/entry-host.js';
import { badInput } from '../errors.js';
import { methodNotAllowed } from './score.js';

// Set by the server for the reply itself; a script's values for these would corrupt the framing.
const HOP_BY_HOP = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

/**
 * /score served by an entry script. Data mode (the default) hands run() the body as text, or, when
 * the script exports an inputSample, the JSON inputs checked and converted as the sample says.
 * Raw mode (`export const rawHttp = true`) hands run() the whole request and sends what it returns.
 */
export async function scoreScriptRoutes(
  app: FastifyInstance,
  options: { script: EntryHost; corsByServer: boolean },
): Promise<void> {
  const { script } = options;
  const run = async (request: FastifyRequest, reply: FastifyReply, input: ScriptInput) => {
    request.metricsModel = 'entry-script';
    let result: ScriptResult;
    try {
      result = await script.call(input);
    } catch (e) {
      const runMs = e instanceof ScriptFailure || e instanceof ScriptInputError ? e.runMs : 0;
      reply.header('x-ms-run-fn-exec-ms', runMs.toFixed(3)).header('x-ms-run-function-failed', 'True');
      if (e instanceof ScriptFailure) {
        request.log.error({ reason: e.details?.reason, stack: e.scriptStack }, 'entry script run() raised');
      }
      throw e;
    }
    reply
      .code(result.reply.status)
      .header('x-ms-run-fn-exec-ms', result.runMs.toFixed(3))
      .header('x-ms-run-function-failed', 'False');
    for (const [name, value] of Object.entries(result.reply.headers))
      if (!HOP_BY_HOP.has(name)) reply.header(name, value);
    const body = result.reply.body;
    return reply.send(
      typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    );
  };

  const raw = (request: FastifyRequest, reply: FastifyReply) =>
    run(request, reply, {
      mode: 'raw',
      request: {
        method: request.method,
        path: request.url.split('?')[0] ?? '/score',
        query: request.query as Record<string, string | string[]>,
        headers: request.headers,
        // A copy of just these bytes: cloning the Buffer would copy (and leak) its whole pool slab.
        body: Buffer.isBuffer(request.body) ? new Uint8Array(request.body) : new Uint8Array(0),
      },
    });

  const data = (request: FastifyRequest, reply: FastifyReply) => {
    const body = request.body;
    const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : '';
    return run(request, reply, { mode: 'data', body: text, contentType: request.headers['content-type'] });
  };

  app.route({
    method: ['GET', 'POST'],
    url: '/score',
    handler: async (request, reply) => {
      if (script.info?.rawHttp) return raw(request, reply);
      if (request.method === 'GET') {
        throw badInput('METHOD_NEEDS_BODY', 'GET /score has no input to score: POST the input as the body');
      }
      return data(request, reply);
    },
  });
  // Preflight: answered by the server's CORS settings when it has some, else by a raw-mode script.
  app.options('/score', async (request, reply) => {
    if (!options.corsByServer && script.info?.rawHttp) return raw(request, reply);
    return reply.code(200).send('');
  });
  app.route({ method: ['PUT', 'DELETE', 'PATCH'], url: '/score', handler: methodNotAllowed });
}
