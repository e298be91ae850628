import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ModelSource } from '../../modules/scoring/model-source.js';
import { buildServer, type ScoringServerOptions } from '../../modules/scoring/server.js';
import { type FixtureName, writeFixture } from './onnx/fixtures.js';

/** Writes fixtures into `dir/<name>/1/` (Azure ML's layout) and describes them as served models. */
export async function fixtureSources(dir: string, names: FixtureName[]): Promise<ModelSource[]> {
  const out: ModelSource[] = [];
  for (const name of names) {
    const modelDir = join(dir, name, '1');
    out.push({ name, version: '1', dir: modelDir, file: await writeFixture(name, modelDir) });
  }
  return out;
}

/** A scoring server on fixtures, models loaded, not listening (use app.inject). */
export async function fixtureServer(
  dir: string,
  names: FixtureName[],
  options: Partial<ScoringServerOptions> = {},
): Promise<FastifyInstance> {
  const app = buildServer({ models: await fixtureSources(dir, names), logger: false, ...options });
  await app.modelHost.loaded;
  return app;
}
