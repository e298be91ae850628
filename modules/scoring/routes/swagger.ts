import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isENOENT } from '../../../common/errors.js';
import { notFound } from '../errors.js';
import { openapi3 } from '../openapi.js';
import { onnxScoreSchemas, type Schema, swagger2 } from '../swagger.js';

export interface SwaggerRouteOptions {
  serviceName: string;
  serviceVersion: string;
  /** Folder whose swagger.json / swagger3.json, when present, are served instead (as Azure ML does). */
  appRoot?: string;
}

type VersionQuery = FastifyRequest<{ Querystring: { version?: string } }>;

const GENERIC: Schema = { type: 'object' };

/**
 * GET /swagger.json (Swagger 2.0 by default, `?version=3|3.0|3.1` for OpenAPI 3) and
 * GET /openapi.json (OpenAPI 3.0.3, `?version=3.1`). Schemas come from an entry script's samples
 * when it has them, else from the ONNX metadata of the single served model.
 */
export async function swaggerRoutes(app: FastifyInstance, options: SwaggerRouteOptions): Promise<void> {
  const config = { auth: 'open' as const };

  const schemas = (): { input: Schema; output: Schema; mixedTypes: boolean } => {
    const script = app.entryScript;
    if (script) {
      const info = script.info;
      return {
        input: info?.input?.schema ?? GENERIC,
        output: info?.output ?? GENERIC,
        mixedTypes: info?.input?.mixedTypes ?? false,
      };
    }
    const models = app.modelHost.list();
    const only = models.length === 1 ? models[0] : undefined;
    return only
      ? { ...onnxScoreSchemas(only), mixedTypes: false }
      : { input: GENERIC, output: GENERIC, mixedTypes: false };
  };
  const document = async (version: '2' | '3.0' | '3.1'): Promise<Schema> => {
    const override = await readOverride(options.appRoot, version === '2' ? 'swagger.json' : 'swagger3.json');
    if (override) return override;
    const { input, output, mixedTypes } = schemas();
    const modelNames = app.entryScript ? [] : app.modelHost.sources.map((s) => s.name);
    const o = {
      serviceName: options.serviceName,
      serviceVersion: options.serviceVersion,
      input,
      output,
      modelNames,
    };
    if (version !== '2') return openapi3(o, version);
    if (mixedTypes) {
      throw notFound(
        'SWAGGER_VERSION_UNAVAILABLE',
        "the script's sample mixes element types, which Swagger 2 cannot describe; ask for ?version=3",
      );
    }
    return swagger2(o);
  };

  app.get('/swagger.json', { config }, async (request: VersionQuery, reply: FastifyReply) => {
    const v = request.query.version ?? '2';
    const version =
      v === '2' || v === '2.0' ? '2' : v === '3' || v === '3.0' ? '3.0' : v === '3.1' ? '3.1' : undefined;
    if (!version)
      throw notFound('SWAGGER_VERSION_UNKNOWN', `no swagger document of version ${v.slice(0, 20)}`);
    return reply.type('application/json').send(await document(version));
  });
  app.get('/openapi.json', { config }, async (request: VersionQuery, reply: FastifyReply) => {
    const v = request.query.version ?? '3.0';
    const version = v === '3' || v === '3.0' ? '3.0' : v === '3.1' ? '3.1' : undefined;
    if (!version)
      throw notFound('OPENAPI_VERSION_UNKNOWN', `no OpenAPI document of version ${v.slice(0, 20)}`);
    return reply.type('application/json').send(await document(version));
  });
}

async function readOverride(root: string | undefined, file: string): Promise<Schema | undefined> {
  if (!root) return undefined;
  try {
    return JSON.parse(await readFile(join(root, file), 'utf8')) as Schema;
  } catch (e) {
    if (isENOENT(e)) return undefined;
    throw e;
  }
}
