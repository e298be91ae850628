import type { FastifyInstance } from 'fastify';

/**
 * Every body arrives as bytes, whatever its content type: routes decide what they accept.
 * /score and /v2 parse JSON with a plain `JSON.parse` (see jsonBody in routes/score.ts): bodies
 * are read into typed tensors or handed to an entry script, never merged into server objects, so
 * scanning for `__proto__` keys (fastify's default parser) would cost time and protect nothing.
 * Bytes also keep the OIP binary extension's tail intact, and let entry scripts parse their own
 * bodies in their worker instead of on the HTTP thread.
 */
export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
}
