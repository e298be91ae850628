import type { FastifyInstance } from 'fastify';

/** Liveness never waits on models; readiness says whether every model has loaded. */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/', async (_request, reply) => reply.type('text/plain; charset=utf-8').send('Healthy'));
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async (_request, reply) => {
    const ready = app.modelHost.state === 'ready';
    return reply.code(ready ? 200 : 503).send({ ready });
  });
  app.get('/ready', async (_request, reply) => {
    const state = app.modelHost.state;
    return reply.code(state === 'ready' ? 200 : 503).send({ state });
  });
}
