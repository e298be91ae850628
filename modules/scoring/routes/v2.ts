import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { classifyError } from '../error-handler.js';
import { INFER_HEADER_LENGTH, splitInferBody } from '../oip-binary.js';
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

/**
 * Open Inference Protocol v2 (KServe): server and model metadata, readiness, and inference with
 * JSON tensors or the binary tensor data extension. Errors are `{"error": "<message>"}`.
 */
export async function v2Routes(app: FastifyInstance, options: { serverVersion: string }): Promise<void> {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, message } = classifyError(error);
    if (status >= 500) request.log.error({ err: error }, 'v2 request failed');
    void reply.code(status).send({ error: message });
  });

  app.get('/v2', { config: { auth: 'health' } }, async () => {
    const host = app.modelHost;
    return {
      name: 'modelport',
      version: options.serverVersion,
      extensions: ['binary_tensor_data'],
      // Beyond the protocol's fields: where inference runs, and why (clients ignore unknown keys).
      execution: {
        providers: host.providerChoice ?? null,
        hardware: host.hardware
          ? {
              cpu: host.hardware.cpu,
              gpus: host.hardware.gpus,
              platform: host.hardware.platform,
              arch: host.hardware.arch,
            }
          : null,
      },
    };
  });

  const metadata = async (request: FastifyRequest<{ Params: ModelParams }>) => {
    const model = app.modelHost.get(request.params.name, request.params.version);
    return {
      name: model.name,
      versions: [model.version],
      platform: 'onnxruntime_onnx',
      inputs: model.inputs.map(metaJson),
      outputs: model.outputs.filter((o) => o.type !== 'non-tensor').map(metaJson),
      parameters: {
        execution_providers: model.providers,
        workers: model.workers,
        intra_op_threads: model.intraOpThreads,
        max_batch_size: model.batching.maxBatchSize,
        max_queue_delay_ms: model.batching.maxQueueDelayMs,
        batching: model.batching.reason,
      },
    };
  };
  app.get('/v2/models/:name', metadata);
  app.get('/v2/models/:name/versions/:version', metadata);

  const ready = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const { name, version } = request.params;
    const model = app.modelHost.sources.find(
      (s) => s.name === name && (version === undefined || s.version === version),
    );
    if (!model) return reply.code(404).send({ error: `model '${name}' is not served here` });
    const isReady = app.modelHost.isReady(model.name);
    return reply.code(isReady ? 200 : 503).send({ name: model.name, ready: isReady });
  };
  app.get('/v2/models/:name/ready', ready);
  app.get('/v2/models/:name/versions/:version/ready', ready);

  const infer = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const model = app.modelHost.get(request.params.name, request.params.version);
    request.metricsModel = model.name;
    const headerLength = request.headers[INFER_HEADER_LENGTH];
    let body: ReturnType<typeof decodeInferRequest>;
    if (typeof headerLength === 'string' && Buffer.isBuffer(request.body)) {
      const { header, binary } = splitInferBody(request.body, headerLength);
      body = decodeInferRequest(jsonBody(header), model, binary);
    } else body = decodeInferRequest(jsonBody(request.body), model);
    const { outputs } = await model.infer(body.inputs, body.outputs);
    const encoded = encodeInferResponse(model, body, outputs);
    if (encoded.headerLength === undefined) return reply.type('application/json').send(encoded.body);
    return reply
      .type('application/octet-stream')
      .header('Inference-Header-Content-Length', String(encoded.headerLength))
      .send(encoded.body);
  };
  app.post('/v2/models/:name/infer', infer);
  app.post('/v2/models/:name/versions/:version/infer', infer);
}
