import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { type Logger, silentLogger } from '../../common/logger.js';
import { registerErrorHandlers } from './error-handler.js';
import { ModelHost } from './model-host.js';
import type { ModelSource } from './model-source.js';
import { registerRequestIds, requestIdFrom } from './request-ids.js';
import { healthRoutes } from './routes/health.js';
import { scoreRoutes } from './routes/score.js';
import { swaggerRoutes } from './routes/swagger.js';
import { v2Routes } from './routes/v2.js';
import { planThreads } from './session-options.js';
import { SERVER_VERSION } from './version.js';

declare module 'fastify' {
  interface FastifyInstance {
    modelHost: ModelHost;
  }
}

export interface ScoringServerOptions {
  models: ModelSource[];
  /** Largest accepted request body in bytes (default 10 MiB). */
  bodyLimit?: number;
  /** A pino logger, or false for none (tests). */
  logger?: Logger | false;
  workersPerModel?: number;
  intraOpThreads?: number;
  executionProviders?: string[];
  serviceName?: string;
  serviceVersion?: string;
}

export const DEFAULT_BODY_LIMIT = 10 * 1024 * 1024;

/**
 * The scoring server, built but not listening (main.ts and `modelport serve` listen; tests inject).
 * Models start loading at once; `app.modelHost.loaded` settles when they are in.
 */
export function buildServer(options: ScoringServerOptions): FastifyInstance {
  const logger = options.logger || silentLogger();
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    genReqId: (req: IncomingMessage) => requestIdFrom(req.headers),
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }),
    return503OnClosing: true,
  }) as unknown as FastifyInstance;

  const host = new ModelHost(
    options.models,
    planThreads({
      ...(options.workersPerModel !== undefined ? { workersPerModel: options.workersPerModel } : {}),
      ...(options.intraOpThreads !== undefined ? { intraOpThreads: options.intraOpThreads } : {}),
      ...(options.executionProviders ? { executionProviders: options.executionProviders } : {}),
    }),
    logger,
  );
  app.decorate('modelHost', host);
  app.addHook('onClose', async () => host.close());

  // Bodies of any other content type are kept as bytes; routes decide what they accept.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  registerRequestIds(app, SERVER_VERSION);
  registerErrorHandlers(app);
  const serviceName = options.serviceName ?? 'ML service';
  const serviceVersion = options.serviceVersion ?? '1.0';
  void app.register(healthRoutes);
  void app.register(scoreRoutes);
  void app.register(swaggerRoutes, { serviceName, serviceVersion });
  void app.register(v2Routes, { serverVersion: SERVER_VERSION });
  return app;
}
