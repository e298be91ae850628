import type { FastifyInstance } from 'fastify';
import type { ScoringMetrics } from '../metrics.js';

/** Prometheus scrape endpoint (protected like /score when keys are configured). */
export async function metricsRoutes(
  app: FastifyInstance,
  options: { metrics: ScoringMetrics },
): Promise<void> {
  app.get('/metrics', async (_request, reply) =>
    reply.type(options.metrics.contentType).send(await options.metrics.text()),
  );
}
