import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../../modules/scoring/server.js';
import { mnistExpected } from '../../support/fixture-reference.js';
import { seededRandom } from '../../support/onnx/builder.js';
import { identitySpec, writeModel } from '../../support/onnx/fixtures.js';
import { fixtureServer } from '../../support/scoring.js';
import { tempDir } from '../../support/tmp.js';

const work = tempDir('batching');
afterAll(() => work.cleanup());

const metric = (text: string, name: string, model: string) =>
  Number(new RegExp(`${name}\\{model="${model}"\\} ([0-9.e+-]+)`).exec(text)?.[1]);

function images(count: number, seed: number): number[][][] {
  const random = seededRandom(seed);
  // Requests of 1, 2 or 3 rows, so batches mix sizes.
  return Array.from({ length: count }, (_, i) =>
    Array.from({ length: 1 + (i % 3) }, () =>
      Array.from({ length: 784 }, () => Math.round(random() * 1000) / 1000),
    ),
  );
}

describe('dynamic batching', () => {
  it('coalesces concurrent requests into shared runs whose outputs equal unbatched runs, element by element', async () => {
    const batched = await fixtureServer(join(work.path, 'b'), ['mnist_mlp'], {
      batching: { maxBatchSize: 16 },
    });
    const alone = await fixtureServer(join(work.path, 'a'), ['mnist_mlp'], {
      batching: { models: { mnist_mlp: false } },
    });
    try {
      const inputs = images(60, 7);
      const score = (app: FastifyInstance, rows: number[][]) =>
        app.inject({ method: 'POST', url: '/score', payload: { data: rows } }).then((r) => {
          expect(r.statusCode, r.body).toBe(200);
          return r.json() as number[][];
        });
      const together = await Promise.all(inputs.map((rows) => score(batched, rows)));
      const oneByOne: number[][][] = [];
      for (const rows of inputs) oneByOne.push(await score(alone, rows));

      let compared = 0;
      for (const [i, rows] of inputs.entries()) {
        const expected = mnistExpected(Float32Array.from(rows.flat()), rows.length);
        const got = together[i] as number[][];
        expect(got.length).toBe(rows.length);
        got.flat().forEach((value, k) => {
          expect(value).toBeCloseTo(oneByOne[i]?.flat()[k] as number, 6);
          expect(value).toBeCloseTo(expected[k] as number, 5);
          compared++;
        });
      }
      expect(compared).toBe(inputs.reduce((n, rows) => n + rows.length * 10, 0));

      const batchedMetrics = (await batched.inject({ method: 'GET', url: '/metrics' })).body;
      const runs = metric(batchedMetrics, 'modelport_batch_size_count', 'mnist_mlp');
      const rows = metric(batchedMetrics, 'modelport_batch_size_sum', 'mnist_mlp');
      expect(rows).toBe(inputs.reduce((n, r) => n + r.length, 0));
      expect(runs).toBeLessThan(inputs.length); // some requests shared a run
      const aloneMetrics = (await alone.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metric(aloneMetrics, 'modelport_batch_size_count', 'mnist_mlp')).toBe(inputs.length);
      const meta = (await batched.inject({ method: 'GET', url: '/v2/models/mnist_mlp' })).json();
      expect(meta.parameters).toMatchObject({ max_batch_size: 16, max_queue_delay_ms: 0 });
    } finally {
      await Promise.all([batched.close(), alone.close()]);
    }
  });

  it('waits up to the max queue delay for company when configured', async () => {
    const app = await fixtureServer(join(work.path, 'd'), ['mnist_mlp'], {
      batching: { models: { mnist_mlp: { maxBatchSize: 64, maxQueueDelayMs: 100 } } },
    });
    try {
      const inputs = images(12, 3).map((r) => r.slice(0, 1));
      await Promise.all(
        inputs.map((rows) => app.inject({ method: 'POST', url: '/score', payload: { data: rows } })),
      );
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metric(text, 'modelport_batch_size_count', 'mnist_mlp')).toBe(1);
      expect(metric(text, 'modelport_batch_size_sum', 'mnist_mlp')).toBe(12);
    } finally {
      await app.close();
    }
  });

  it('is off for a model with a fixed batch dimension', async () => {
    const app = await fixtureServer(join(work.path, 'f'), ['regression10_fixed']);
    try {
      const meta = (await app.inject({ method: 'GET', url: '/v2/models/regression10_fixed' })).json();
      expect(meta.parameters.max_batch_size).toBe(1);
      expect(meta.parameters.batching).toMatch(/no free batch dimension/);
      const row = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          app.inject({ method: 'POST', url: '/score', payload: { data: [row] } }),
        ),
      );
      expect(results.every((r) => r.statusCode === 200)).toBe(true);
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metric(text, 'modelport_batch_size_count', 'regression10_fixed')).toBe(8);
    } finally {
      await app.close();
    }
  });

  it("falls back to one run per request when a model's outputs do not follow the batch dimension", async () => {
    // ReduceSum over the batch: the declared output dim is symbolic, but its runtime size is 1, not N.
    const dir = join(work.path, 'reduce', '1');
    mkdirSync(dir, { recursive: true });
    const file = await writeModel(
      {
        graphName: 'batch_sum',
        inputs: [{ name: 'x', type: 'float32', shape: ['N', 3] }],
        outputs: [{ name: 'y', type: 'float32', shape: ['M', 3] }],
        initializers: [{ name: 'axes', type: 'int64', dims: [1], values: [0n] }],
        nodes: [{ op: 'ReduceSum', inputs: ['x', 'axes'], outputs: ['y'], attributes: { keepdims: 1 } }],
      },
      join(dir, 'model.onnx'),
    );
    const app = buildServer({ models: [{ name: 'batch_sum', version: '1', dir, file }], logger: false });
    await app.scoringLoaded;
    try {
      const requests = Array.from({ length: 10 }, (_, i) => [
        [i, 1, 2],
        [i, 10, 20],
      ]);
      const results = await Promise.all(
        requests.map((rows) => app.inject({ method: 'POST', url: '/score', payload: { data: rows } })),
      );
      results.forEach((r, i) => {
        expect(r.statusCode).toBe(200);
        expect(r.json()).toEqual([[2 * i, 11, 22]]);
      });
    } finally {
      await app.close();
    }
  });
});

describe('the shared mailbox between the HTTP thread and a session worker', () => {
  it('carries requests and replies larger than the mailbox by message, then grows it', async () => {
    const dir = join(work.path, 'big', '1');
    mkdirSync(dir, { recursive: true });
    const file = await writeModel(identitySpec('float32', 3), join(dir, 'model.onnx'));
    const app = buildServer({ models: [{ name: 'big', version: '1', dir, file }], logger: false });
    await app.scoringLoaded;
    try {
      const infer = async (rows: number) => {
        const values = Float32Array.from({ length: rows * 3 }, (_, i) => i % 1000);
        const header = Buffer.from(
          JSON.stringify({
            inputs: [
              {
                name: 'x',
                shape: [rows, 3],
                datatype: 'FP32',
                parameters: { binary_data_size: values.byteLength },
              },
            ],
            outputs: [{ name: 'y', parameters: { binary_data: true } }],
          }),
        );
        const res = await app.inject({
          method: 'POST',
          url: '/v2/models/big/infer',
          payload: Buffer.concat([header, Buffer.from(values.buffer)]),
          headers: {
            'inference-header-content-length': String(header.length),
            'content-type': 'application/octet-stream',
          },
        });
        expect(res.statusCode, res.body.slice(0, 200)).toBe(200);
        const n = Number(res.headers['inference-header-content-length']);
        const tail = res.rawPayload.subarray(n);
        expect(Buffer.compare(tail, Buffer.from(values.buffer))).toBe(0);
      };
      await infer(2); // fits
      await infer(500_000); // 6 MB each way: by message, and the mailbox grows
      await infer(500_000); // now fits the larger mailbox
      await infer(3);
    } finally {
      await app.close();
    }
  });
});
