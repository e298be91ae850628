import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

export interface CorsOptions {
  /** Allowed origins (`https://app.example.com`); `*` only when listed explicitly. */
  origins: string[];
}

/** Headers a browser script may read from replies. */
const EXPOSED = [
  'x-ms-request-id',
  'x-request-id',
  'x-ms-client-request-id',
  'x-ms-run-fn-exec-ms',
  'x-ms-run-function-failed',
  'inference-header-content-length',
];

/**
 * CORS for browser clients, as AML_CORS_ORIGINS configures Azure ML's server: listed origins get
 * `Access-Control-Allow-Origin` echoed back, others get none (the browser then blocks the reply).
 * Preflight is answered before authentication (it carries no credentials), with 200 and no body.
 */
export async function registerCors(app: FastifyInstance, options: CorsOptions): Promise<void> {
  const origins = options.origins.map((o) => o.trim()).filter((o) => o.length > 0);
  await app.register(cors, {
    origin: origins.includes('*') ? '*' : origins,
    methods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
    exposedHeaders: EXPOSED,
    strictPreflight: false,
    optionsSuccessStatus: 200,
    maxAge: 600,
  });
}
