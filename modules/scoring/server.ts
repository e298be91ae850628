import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import fp from 'fastify-plugin';
import { type Logger, silentLogger } from '../../common/logger.js';
import { authEnabled, registerAuth } from './auth/auth-hook.js';
import { registerBodyParsers } from './body-parsers.js';
import { registerCollector } from './collect/collector.js';
import { registerCors } from './cors.js';
import { EntryHost } from './entry/entry-host.js';
import { registerErrorHandlers } from './error-handler.js';
import { ScoringMetrics } from './metrics.js';
import { ModelHost } from './model-host.js';
import { registerRequestDeadline } from './request-deadline.js';
import { registerRequestIds, requestIdFrom } from './request-ids.js';
import { adminRoutes } from './routes/admin.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { scoreRoutes } from './routes/score.js';
import { scoreScriptRoutes } from './routes/score-script.js';
import { swaggerRoutes } from './routes/swagger.js';
import { v2Routes } from './routes/v2.js';
import {
  DEFAULT_BODY_LIMIT,
  DEFAULT_INLINE_RUN_MAX_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_SCORING_TIMEOUT_MS,
  type ScoringServerOptions,
} from './server-options.js';
import { planThreads } from './session-options.js';
import { SERVER_VERSION } from './version.js';

export { DEFAULT_BODY_LIMIT, type ScoringServerOptions } from './server-options.js';

declare module 'fastify' {
  interface FastifyInstance {
    modelHost: ModelHost;
    /** The entry script's workers, when /score is served by a script. */
    entryScript: EntryHost | undefined;
    metrics: ScoringMetrics;
    /** 'ready' once every model and the entry script have loaded. */
    scoringState(): 'loading' | 'ready' | 'failed';
    /** Settles when everything has loaded; rejects with the first load failure. */
    scoringLoaded: Promise<void>;
  }
  interface FastifyRequest {
    /** The model label of this request's metrics. */
    metricsModel: string;
  }
}

/**
 * The scoring server, built but not listening (main.ts and `modelport serve` listen; tests inject).
 * Models and the entry script start loading at once; `app.scoringLoaded` settles when they are in.
 */
export function buildServer(options: ScoringServerOptions): FastifyInstance {
  const logger: Logger = options.logger || silentLogger();
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    genReqId: (req: IncomingMessage) => requestIdFrom(req.headers),
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }),
    return503OnClosing: true,
    // SERVICE_PATH_PREFIX: /prefix/score is /score (and unprefixed paths keep working).
    ...(options.pathPrefix ? { rewriteUrl: stripPrefix(options.pathPrefix) } : {}),
    ...(options.connectionTimeout !== undefined ? { connectionTimeout: options.connectionTimeout } : {}),
    requestTimeout: options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS,
    // Node checks request timeouts on this interval (default 30 s): a stalled body is cut off within
    // a quarter of requestTimeout of its deadline.
    http: {
      connectionsCheckingInterval: Math.min(
        30_000,
        Math.max(250, (options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS) / 4),
      ),
    },
    ...(options.keepAliveTimeout !== undefined ? { keepAliveTimeout: options.keepAliveTimeout } : {}),
  }) as unknown as FastifyInstance;

  const timeoutMs = options.scoringTimeoutMs ?? DEFAULT_SCORING_TIMEOUT_MS;
  const metrics = new ScoringMetrics({ processMetrics: options.processMetrics ?? false });
  const host = new ModelHost(options.models, {
    threading: planThreads(options.threading ?? {}),
    ...(options.batching ? { batching: options.batching } : {}),
    providers: { requested: options.executionProviders ?? [], fallback: options.fallbackProviders ?? [] },
    timeoutMs,
    maxQueue: options.maxQueue ?? 4096,
    inlineRunMaxMs: options.inlineRunMaxMs ?? DEFAULT_INLINE_RUN_MAX_MS,
    observer: metrics,
    logger,
  });
  const script = options.entryScript ? new EntryHost(options.entryScript, timeoutMs, logger) : undefined;
  const loaded = Promise.all([host.loaded, script?.loaded]).then(() => undefined);
  loaded.catch(() => undefined);

  app.decorate('modelHost', host);
  app.decorate('entryScript', script);
  app.decorate('metrics', metrics);
  app.decorate('scoringLoaded', loaded);
  app.decorate('scoringState', () => {
    const states = [host.state, script?.state ?? 'ready'];
    return states.includes('failed') ? 'failed' : states.every((s) => s === 'ready') ? 'ready' : 'loading';
  });
  app.decorateRequest('metricsModel', '');
  // While closing, keep-alive connections that finish their last request are closed too (node
  // closes only the ones idle at the moment close starts), so close() ends once requests are done.
  let idleSweep: NodeJS.Timeout | undefined;
  app.addHook('preClose', (done) => {
    idleSweep = setInterval(() => app.server.closeIdleConnections?.(), 50);
    done();
  });
  app.addHook('onClose', async () => {
    clearInterval(idleSweep);
    await Promise.all([host.close(), script?.close()]);
  });
  // Callback-style hooks on the hot path: an async hook costs a promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    metrics.request(
      request.routeOptions.url ?? 'unknown',
      request.metricsModel,
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });

  registerBodyParsers(app);
  registerRequestDeadline(app, options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS);
  registerRequestIds(app, SERVER_VERSION);
  registerErrorHandlers(app);
  if (options.collect) registerCollector(app, options.collect, { logger });
  // Hooks run in registration order: request ids, then CORS (so even a 401 is readable by a
  // browser, and preflight is answered before auth), then auth.
  const cors = options.cors && options.cors.origins.length > 0 ? options.cors : undefined;
  if (cors) void app.register(fp(async (a) => registerCors(a, cors)));
  const auth = authEnabled(options.auth) ? options.auth : undefined;
  if (auth) void app.register(fp(async (a) => void registerAuth(a, auth, logger)));

  void app.register(healthRoutes);
  if (script) void app.register(scoreScriptRoutes, { script, corsByServer: cors !== undefined });
  else void app.register(scoreRoutes);
  void app.register(swaggerRoutes, {
    serviceName: options.serviceName ?? 'ML service',
    serviceVersion: options.serviceVersion ?? '1.0',
    ...(options.appRoot ? { appRoot: options.appRoot } : {}),
  });
  void app.register(v2Routes, { serverVersion: SERVER_VERSION });
  void app.register(metricsRoutes, { metrics });
  if (options.admin ?? auth !== undefined) void app.register(adminRoutes);
  return app;
}

function stripPrefix(prefix: string): (req: IncomingMessage) => string {
  const clean = `/${prefix.replace(/^\/+|\/+$/g, '')}`;
  return (req) => {
    const url = req.url ?? '/';
    if (url === clean || url.startsWith(`${clean}/`) || url.startsWith(`${clean}?`)) {
      const rest = url.slice(clean.length);
      return rest.startsWith('/') ? rest : `/${rest}`;
    }
    return url;
  };
}
