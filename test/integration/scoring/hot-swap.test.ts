import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../../modules/scoring/server.js';
import { GUIDE_SAMPLE } from '../../support/fixture-reference.js';
import {
  REGRESSION_B,
  REGRESSION_W,
  regression10Spec,
  writeFixture,
  writeModel,
} from '../../support/onnx/fixtures.js';
import { tempDir } from '../../support/tmp.js';
import { listen } from './helpers.js';

const work = tempDir('swap');
const KEY = 'admin-key';
let app: FastifyInstance;
let base: string;
const v2Dir = join(work.path, 'regression10', '2');
const v2Bias = REGRESSION_B + 100;

beforeAll(async () => {
  const v1Dir = join(work.path, 'regression10', '1');
  const file = await writeFixture('regression10', v1Dir);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(v2Dir, { recursive: true });
  await writeModel(regression10Spec(REGRESSION_W, v2Bias), join(v2Dir, 'model.onnx'));
  app = buildServer({
    models: [{ name: 'regression10', version: '1', dir: v1Dir, file }],
    logger: false,
    auth: { keys: [KEY] },
  });
  await app.scoringLoaded;
  base = await listen(app);
});
afterAll(async () => {
  await app.close();
  work.cleanup();
});

const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
const row = GUIDE_SAMPLE[0] as number[];
const v1Value = row.reduce((s, x, i) => s + x * (REGRESSION_W[i] as number), REGRESSION_B);

describe('zero-downtime model update', () => {
  it('swaps a served model to a new version under load with no failed request', async () => {
    let stop = false;
    const seen = { v1: 0, v2: 0, failed: [] as string[] };
    const client = async () => {
      while (!stop) {
        const res = await fetch(`${base}/score`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ data: [row] }),
        });
        const text = await res.text();
        if (res.status !== 200) {
          seen.failed.push(`${res.status} ${text}`);
          continue;
        }
        const value = (JSON.parse(text) as number[][])[0]?.[0] as number;
        if (Math.abs(value - v1Value) < 1e-3) seen.v1++;
        else if (Math.abs(value - (v1Value + 100)) < 1e-3) seen.v2++;
        else seen.failed.push(`unexpected value ${value}`);
      }
    };
    const clients = Array.from({ length: 8 }, client);
    while (seen.v1 < 50) await new Promise((r) => setTimeout(r, 10));

    const swap = await fetch(`${base}/admin/models/regression10`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ version: '2', path: v2Dir }),
    });
    expect(swap.status).toBe(200);
    expect(await swap.json()).toMatchObject({ name: 'regression10', version: '2', previous: '1' });
    const atSwap = seen.v2;
    while (seen.v2 < atSwap + 50) await new Promise((r) => setTimeout(r, 10));
    stop = true;
    await Promise.all(clients);

    expect(seen.failed).toEqual([]);
    expect(seen.v1).toBeGreaterThanOrEqual(50);
    expect(seen.v2).toBeGreaterThanOrEqual(50);
    const meta = (await (await fetch(`${base}/v2/models/regression10`, { headers })).json()) as {
      versions: string[];
    };
    expect(meta.versions).toEqual(['2']);
    expect((await fetch(`${base}/v2/models/regression10/versions/1`, { headers })).status).toBe(404);
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
  });

  it('refuses a version that cannot load, and keeps serving the current one', async () => {
    const bad = join(work.path, 'broken');
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'model.onnx'), 'not an onnx file');
    const res = await fetch(`${base}/admin/models/regression10`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ version: '3', path: bad }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('MODEL_LOAD_FAILED');
    const score = await fetch(`${base}/score`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ data: [row] }),
    });
    expect(score.status).toBe(200);
  });

  it.each([
    ['a relative path', { version: '4', path: 'models/x' }, 'PATH_INVALID'],
    ['a missing path', { version: '4', path: '/no/such/folder' }, 'PATH_NOT_FOUND'],
    ['no version', { path: '/tmp' }, 'VERSION_INVALID'],
  ])('answers %s with a 400', async (_label, body, code) => {
    const res = await fetch(`${base}/admin/models/regression10`, {
      method: 'PUT',
      headers,
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
  });

  it('is protected by the keys, and absent on a server without auth', async () => {
    const res = await fetch(`${base}/admin/models/regression10`, {
      method: 'PUT',
      body: JSON.stringify({ version: '2', path: v2Dir }),
    });
    expect(res.status).toBe(401);
    const open = buildServer({ models: [], logger: false });
    try {
      expect((await open.inject({ method: 'PUT', url: '/admin/models/x', payload: {} })).statusCode).toBe(
        404,
      );
    } finally {
      await open.close();
    }
  });
});
