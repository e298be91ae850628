import type { FastifyInstance, FastifyRequest } from 'fastify';
import { notFound } from '../errors.js';
import { onnxScoreSchemas, type Schema, swagger2 } from '../swagger.js';

/** GET /swagger.json (Swagger 2.0 by default, as Azure ML serves it). */
export async function swaggerRoutes(
  app: FastifyInstance,
  options: { serviceName: string; serviceVersion: string },
): Promise<void> {
  app.get('/swagger.json', async (request: FastifyRequest<{ Querystring: { version?: string } }>) => {
    const version = request.query.version ?? '2';
    if (version !== '2' && version !== '2.0')
      throw notFound('SWAGGER_VERSION_UNKNOWN', `no swagger document of version ${version}`);
    const host = app.modelHost;
    const models = host.list();
    const first = models[0];
    const schemas: { input: Schema; output: Schema } =
      models.length === 1 && first
        ? onnxScoreSchemas(first)
        : { input: { type: 'object' }, output: { type: 'object' } };
    return swagger2({ ...options, ...schemas, modelNames: host.sources.map((s) => s.name) });
  });
}
