import type { FastifyInstance } from 'fastify';

/**
 * Liveness never waits on models or the entry script; readiness says whether everything has loaded.
 * Health routes are open to probes unless the server protects them (auth `protectHealth`).
 */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  const config = { auth: 'health' as const };
  app.get('/', { config }, async (_request, reply) =>
    reply.type('text/plain; charset=utf-8').send('Healthy'),
  );
  app.get('/v2/health/live', { config }, async () => ({ live: true }));
  app.get('/v2/health/ready', { config }, async (_request, reply) => {
    const ready = app.scoringState() === 'ready';
    return reply.code(ready ? 200 : 503).send({ ready });
  });
  app.get('/ready', { config }, async (_request, reply) => {
    const state = app.scoringState();
    return reply.code(state === 'ready' ? 200 : 503).send({ state });
  });
}
