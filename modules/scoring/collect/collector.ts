/**
 * Model-data collection on the scoring server: a sample of successful scoring requests (rate) each
 * becomes a record `{model, version, requestId, time, inputs, outputs}` with the field settings
 * applied, queued for the edge hub (output `collect`) or a folder. Fire and forget: the request is
 * chosen when it arrives, its reply is kept when sent, and the record is made after the response
 * has gone out (on the next turn), so scoring latency never waits on collection.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { messageOf } from '../../../common/errors.js';
import type { Logger } from '../../../common/logger.js';
import { INFER_HEADER_LENGTH } from '../oip-binary.js';
import { clientRequestId } from '../request-ids.js';
import { type Captured, captureScore, captureScript, captureV2 } from './capture.js';
import { CollectMetrics } from './collect-metrics.js';
import { DirSink } from './dir-sink.js';
import { EdgeHubSink } from './edge-hub-sink.js';
import { encodeRecord, MAX_MESSAGE_BYTES } from './encode.js';
import { CollectQueue, type CollectSink } from './queue.js';
import { applyFieldPolicy, type CollectRecord } from './record.js';
import type { CollectOptions } from './settings.js';

/** How long a closing server keeps sending what is queued. */
export const CLOSE_GRACE_MS = 3_000;

type RouteKind = 'score' | 'script' | 'v2';

interface Pending {
  kind: RouteKind;
  time: number;
  reply?: Buffer | string;
  replyHeaderLength?: string;
  model?: { name: string; version: string; inputNames: string[] };
}

export interface CollectorDeps {
  logger: Logger;
  /** Default Math.random: a request is collected when random() < rate. */
  random?: () => number;
  now?: () => number;
  /** Default: from the options' target. */
  sink?: CollectSink;
}

const V2_INFER = new Set(['/v2/models/:name/infer', '/v2/models/:name/versions/:version/infer']);

function sinkFor(options: CollectOptions, logger: Logger): CollectSink {
  if (options.target.kind === 'dir') return new DirSink(options.target.dir);
  return new EdgeHubSink({
    output: options.target.output,
    onClientError: (e) =>
      logger.debug({ event: 'collect-client-error', err: messageOf(e) }, 'collection client error'),
  });
}

export function registerCollector(app: FastifyInstance, options: CollectOptions, deps: CollectorDeps): void {
  const random = deps.random ?? Math.random;
  const now = deps.now ?? Date.now;
  const metrics = new CollectMetrics(app.metrics.registry, deps.logger);
  const queue = new CollectQueue({
    sink: deps.sink ?? sinkFor(options, deps.logger),
    limit: options.queueLimit,
    observer: metrics,
  });
  const maxBytes = options.target.kind === 'edge-hub' ? MAX_MESSAGE_BYTES : Number.POSITIVE_INFINITY;
  const pending = new WeakMap<FastifyRequest, Pending>();

  const kindOf = (request: FastifyRequest): RouteKind | undefined => {
    if (request.method !== 'POST') return undefined;
    const url = request.routeOptions.url;
    if (url === '/score') return app.entryScript ? 'script' : 'score';
    return url !== undefined && V2_INFER.has(url) ? 'v2' : undefined;
  };

  // Callback-style hooks, as the server's own: an async hook costs a promise on every request.
  app.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
    const kind = kindOf(request);
    if (kind && random() < options.rate) pending.set(request, { kind, time: now() });
    done();
  });

  app.addHook(
    'onSend',
    (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (e: null, p: unknown) => void) => {
      const p = pending.get(request);
      if (p) keepReply(request, reply, payload, p);
      done(null, payload);
    },
  );

  app.addHook('onResponse', (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
    const p = pending.get(request);
    if (p?.reply !== undefined) {
      pending.delete(request);
      // After the reply has gone: the record is built on a later turn, off this request's path.
      setImmediate(() => collect(request, p));
    }
    done();
  });

  app.addHook('onClose', async () => {
    await queue.close(CLOSE_GRACE_MS);
  });

  const keepReply = (request: FastifyRequest, reply: FastifyReply, payload: unknown, p: Pending) => {
    if (reply.statusCode >= 300 || !(typeof payload === 'string' || Buffer.isBuffer(payload))) {
      pending.delete(request);
      return;
    }
    p.reply = payload;
    const headerLength = reply.getHeader(INFER_HEADER_LENGTH);
    if (headerLength !== undefined) p.replyHeaderLength = String(headerLength);
    if (p.kind !== 'score') return;
    try {
      const model = app.modelHost.get(request.metricsModel);
      p.model = { name: model.name, version: model.version, inputNames: model.inputs.map((i) => i.name) };
    } catch {
      // The model went away between scoring and now (hot swap removed it): nothing to name it by.
      pending.delete(request);
    }
  };

  const collect = (request: FastifyRequest, p: Pending) => {
    const body = request.body;
    if (!(typeof body === 'string' || Buffer.isBuffer(body)) || p.reply === undefined) return;
    let captured: (Captured & { model?: string; version?: string }) | undefined;
    if (p.kind === 'score' && p.model) captured = captureScore(body, p.reply, p.model.inputNames);
    else if (p.kind === 'v2') {
      const header = request.headers[INFER_HEADER_LENGTH];
      captured = captureV2(
        body,
        typeof header === 'string' ? header : undefined,
        p.reply,
        p.replyHeaderLength,
      );
    } else if (p.kind === 'script') captured = captureScript(body, p.reply);
    metrics.made();
    if (!captured) {
      metrics.dropped('unreadable');
      return;
    }
    const record: CollectRecord = {
      model: captured.model ?? p.model?.name ?? options.scriptModel.name,
      version: captured.version ?? p.model?.version ?? options.scriptModel.version,
      requestId: clientRequestId(request),
      time: new Date(p.time).toISOString(),
      inputs: applyFieldPolicy(captured.inputs, options.fields),
      outputs: captured.outputs,
    };
    const encoded = encodeRecord(record, maxBytes);
    if (encoded) queue.push(encoded);
    else metrics.dropped('too_large');
  };
}
