import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { classifyError } from '../error-handler.js';
import { decodeInferRequest, encodeInferResponse } from '../oip-infer.js';
import { oipDatatype } from '../oip-types.js';
import type { TensorMeta } from '../tensor.js';
import { jsonBody } from './score.js';

type ModelParams = { name: string; version?: string };

const metaJson = (m: TensorMeta) => ({
  name: m.name,
  datatype: oipDatatype(m.type),
  shape: (m.shape ?? []).map((d) => (typeof d === 'number' ? d : -1)),
});

/** Open Inference Protocol v2 (KServe): model metadata, readiness and JSON inference. */
export async function v2Routes(app: FastifyInstance, options: { serverVersion: string }): Promise<void> {
  // The protocol's error body is {"error": "<message>"}.
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, message } = classifyError(error);
    if (status >= 500) request.log.error({ err: error }, 'v2 request failed');
    void reply.code(status).send({ error: message });
  });

  app.get('/v2', async () => ({ name: 'modelport', version: options.serverVersion, extensions: [] }));

  const metadata = async (request: FastifyRequest<{ Params: ModelParams }>) => {
    const model = app.modelHost.get(request.params.name, request.params.version);
    return {
      name: model.name,
      versions: [model.version],
      platform: 'onnxruntime_onnx',
      inputs: model.inputs.map(metaJson),
      outputs: model.outputs.map(metaJson),
    };
  };
  app.get('/v2/models/:name', metadata);
  app.get('/v2/models/:name/versions/:version', metadata);

  const ready = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const model = app.modelHost.sources.find(
      (s) =>
        s.name === request.params.name &&
        (request.params.version === undefined || s.version === request.params.version),
    );
    if (!model) return reply.code(404).send({ error: `model '${request.params.name}' is not served here` });
    const isReady = app.modelHost.isReady(model.name);
    return reply.code(isReady ? 200 : 503).send({ name: model.name, ready: isReady });
  };
  app.get('/v2/models/:name/ready', ready);
  app.get('/v2/models/:name/versions/:version/ready', ready);

  const infer = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const model = app.modelHost.get(request.params.name, request.params.version);
    const body = decodeInferRequest(jsonBody(request.body), model);
    const { outputs } = await app.modelHost.infer(model, body.inputs, body.outputs);
    return reply.type('application/json').send(encodeInferResponse(model, body, outputs));
  };
  app.post('/v2/models/:name/infer', infer);
  app.post('/v2/models/:name/versions/:version/infer', infer);
}
