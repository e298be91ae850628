import { statSync } from 'node:fs';
import { basename, dirname, isAbsolute } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { messageOf } from '../../../common/errors.js';
import { badInput } from '../errors.js';
import { findOnnxFile, type ModelSource } from '../model-source.js';
import { ModelLoadError } from '../worker/session-pool.js';
import { jsonBody } from './score.js';

type NameParams = { Params: { name: string } };

/**
 * Model updates on a running server, without downtime: PUT /admin/models/{name} with
 * `{"version": "2", "path": "/models/name/2"}` (a folder holding the .onnx file, or the file) loads
 * that version beside the serving one, switches traffic, and retires the old version once its
 * accepted requests are answered. Only mounted when the server has auth (or admin is forced on).
 */
export async function adminRoutes(app: FastifyInstance): Promise<void> {
  app.get('/admin/models', async () =>
    app.modelHost
      .list()
      .map((m) => ({ name: m.name, version: m.version, file: m.file, providers: m.providers })),
  );
  app.put('/admin/models/:name', async (request: FastifyRequest<NameParams>) => {
    const source = sourceFrom(request.params.name, jsonBody(request.body));
    const previous = app.modelHost.isReady(source.name) ? app.modelHost.get(source.name).version : null;
    const model = await app.modelHost.swap(source).catch((e: unknown) => {
      // The version sent cannot be served: the request was wrong, and the old version keeps serving.
      throw e instanceof ModelLoadError ? badInput('MODEL_LOAD_FAILED', e.message) : e;
    });
    return { name: model.name, version: model.version, previous, file: model.file };
  });
  app.delete('/admin/models/:name', async (request: FastifyRequest<NameParams>) => {
    await app.modelHost.remove(request.params.name);
    return { name: request.params.name, removed: true };
  });
}

function sourceFrom(name: string, body: unknown): ModelSource {
  if (!/^[A-Za-z0-9._-]{1,255}$/.test(name))
    throw badInput('NAME_INVALID', `model name '${name.slice(0, 50)}' is not valid`);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badInput(
      'BODY_INVALID',
      'send {"version": "2", "path": "/absolute/path/to/model folder or .onnx"}',
    );
  }
  const { version, path } = body as { version?: unknown; path?: unknown };
  if ((typeof version !== 'string' && typeof version !== 'number') || String(version).length === 0) {
    throw badInput('VERSION_INVALID', '"version" must be a non-empty string or number');
  }
  if (typeof path !== 'string' || !isAbsolute(path))
    throw badInput('PATH_INVALID', '"path" must be an absolute path on the server');
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw badInput('PATH_NOT_FOUND', `${path} does not exist on the server`);
  }
  const dir = isFile ? dirname(path) : path;
  let file: string;
  try {
    file = isFile ? path : findOnnxFile(dir, name);
  } catch (e) {
    throw badInput('MODEL_FILE_NOT_FOUND', messageOf(e));
  }
  if (isFile && !basename(file).toLowerCase().endsWith('.onnx'))
    throw badInput('PATH_INVALID', `${path} is not an .onnx file`);
  return { name, version: String(version), dir, file };
}
