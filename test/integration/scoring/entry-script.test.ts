import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../../modules/scoring/server.js';
import { GUIDE_SAMPLE, regression10Expected } from '../../support/fixture-reference.js';
import { writeFixture } from '../../support/onnx/fixtures.js';
import { tempDir } from '../../support/tmp.js';
import { captureLogs, SCRIPTS, scriptServer } from './helpers.js';

const work = tempDir('entry');
afterAll(() => work.cleanup());

const post = (
  app: FastifyInstance,
  payload: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) => app.inject({ method: 'POST', url: '/score', payload, headers });

describe("the guide's init()/run() in JavaScript, loading a registered model itself", () => {
  let app: FastifyInstance;
  let modelDir: string;
  beforeAll(async () => {
    modelDir = join(work.path, 'azureml-models', 'regression10', '1');
    await writeFixture('regression10', modelDir);
    app = await scriptServer('guide-score.mjs', { modelDir, workers: 2 });
  });
  afterAll(() => app.close());

  it('sets AZUREML_MODEL_DIR before init(), resolves the model path as Azure ML does, and scores', async () => {
    const res = await post(app, JSON.stringify({ data: GUIDE_SAMPLE }));
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.predictions).toEqual(regression10Expected(GUIDE_SAMPLE));
    expect(body.modelDir).toBe(modelDir);
    expect(body.initCalls).toBe(1); // once per worker
    expect(res.headers['x-ms-run-function-failed']).toBe('False');
    expect(Number(res.headers['x-ms-run-fn-exec-ms'])).toBeGreaterThan(0);
  });

  it('is ready only through the script; GET / and the swagger document work without a model', async () => {
    expect((await app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode).toBe(200);
    const doc = (await app.inject({ method: 'GET', url: '/swagger.json' })).json();
    await SwaggerParser.validate(structuredClone(doc));
    expect(doc.definitions.ServiceInput).toEqual({ type: 'object' });
  });
});

describe('what run() returns and throws', () => {
  let app: FastifyInstance;
  const logs = captureLogs();
  beforeAll(async () => {
    app = buildServer({
      models: [],
      logger: pino({ level: 'info' }, logs.stream),
      entryScript: { file: join(SCRIPTS, 'behaviours.mjs') },
      scoringTimeoutMs: 1500,
    });
    await app.scoringLoaded;
  });
  afterAll(() => app.close());
  const run = (what: Record<string, unknown>) => post(app, JSON.stringify(what));

  it('sends a string that already is JSON as it is (no double encoding), and encodes other strings once', async () => {
    expect((await run({ do: 'json-string' })).body).toBe('{"already":"json"}');
    expect((await run({ do: 'plain-string' })).body).toBe('"hello"');
  });

  it('hands run() the body text, and encodes typed arrays and bigints', async () => {
    expect((await run({ do: 'echo', n: 1 })).json()).toEqual({ echo: { do: 'echo', n: 1 } });
    expect((await run({ do: 'typed' })).json()).toEqual({ values: [1.5, 2.5], big: '1152921504606846976' });
  });

  it('answers an exception with a 500 JSON error and a request id, logs its stack, and keeps serving', async () => {
    const res = await post(app, JSON.stringify({ do: 'throw' }), {
      'content-type': 'application/json',
      'x-request-id': 'req-throw-1',
    });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({
      error: {
        code: 'SCRIPT_FAILED',
        message: 'An unexpected error occurred in scoring script. Check the logs for more info.',
        requestId: 'req-throw-1',
      },
      message: 'An unexpected error occurred in scoring script. Check the logs for more info.',
    });
    expect(res.headers['x-ms-run-function-failed']).toBe('True');
    const line = logs.lines().find((l) => l.requestId === 'req-throw-1' && l.level === 50);
    expect(line?.reason).toBe('boom in run');
    expect(String(line?.stack)).toMatch(/boom in run[\s\S]*behaviours\.mjs/);
    expect((await run({ do: 'echo' })).statusCode).toBe(200);
  });

  it('turns a typed input error from the script into a 4xx naming the problem', async () => {
    const bad = await run({ do: 'bad-input' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'INPUT_INVALID', message: 'field x must be positive' });
    const custom = await run({ do: 'status-422' });
    expect(custom.statusCode).toBe(422);
    expect(custom.json().error.code).toBe('NOPE');
  });

  it('survives a script that exits its worker: a 500 for that request, a fresh worker (init again) for the next', async () => {
    const res = await run({ do: 'exit' });
    expect(res.statusCode).toBe(500);
    expect(res.json().error.code).toBe('SCRIPT_CRASHED');
    expect((await run({ do: 'echo', after: 'exit' })).statusCode).toBe(200);
  });

  it("stops a run that passes the scoring timeout with Azure ML's message, and replaces the stuck worker", async () => {
    const res = await run({ do: 'hang' });
    expect(res.statusCode).toBe(500);
    expect(res.json().message).toBe('Scoring timeout after 1500 ms');
    expect((await run({ do: 'echo', after: 'hang' })).statusCode).toBe(200);
  });

  it('answers GET /score with a 400 and other methods with 405', async () => {
    expect((await app.inject({ method: 'GET', url: '/score' })).statusCode).toBe(400);
    expect((await app.inject({ method: 'DELETE', url: '/score' })).statusCode).toBe(405);
    expect((await app.inject({ method: 'OPTIONS', url: '/score' })).statusCode).toBe(200);
  });
});

describe('schemas from samples (InferenceSchema)', () => {
  it("types /swagger.json and /openapi.json from a TypeScript script's Float32Array sample and converts requests to it", async () => {
    const app = await scriptServer('sample-score.ts');
    try {
      const row = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
      const ok = await post(app, JSON.stringify({ data: [row, row.map((v) => v * 2)] }));
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toEqual([55, 110]);
      const v2 = (await app.inject({ method: 'GET', url: '/swagger.json' })).json();
      await SwaggerParser.validate(structuredClone(v2));
      expect(v2.definitions.ServiceInput.properties.data).toEqual({
        type: 'array',
        format: 'numpy.ndarray',
        items: { type: 'array', items: { type: 'number', format: 'float' } },
        example: [row],
      });
      expect(v2.definitions.ServiceOutput).toMatchObject({
        type: 'array',
        items: { type: 'number' },
        example: [0.5],
      });
      const v3 = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
      await SwaggerParser.validate(structuredClone(v3));
      expect(v3.components.schemas.ServiceInput).toEqual(v2.definitions.ServiceInput);
    } finally {
      await app.close();
    }
  });

  it.each([
    ['a short row (dimension 1 is enforced)', { data: [[1, 2, 3]] }, 400, /data\[0\] must have 10 elements/],
    [
      'a string element',
      { data: [[1, 2, 3, 4, 5, 6, 7, 8, 9, 'x']] },
      400,
      /data\[0\]\[9\] must be a number/,
    ],
    ['no data field', { rows: [] }, 400, /"data"/],
    ['an empty batch', { data: [] }, 400, /data is empty/],
  ])('refuses %s with a 400 naming the input', async (_label, body, status, message) => {
    const app = await scriptServer('sample-score.ts');
    try {
      const res = await post(app, JSON.stringify(body));
      expect(res.statusCode).toBe(status);
      expect(res.json().message).toMatch(message);
    } finally {
      await app.close();
    }
  });

  it('needs JSON when the script has a sample (415 otherwise), as Azure ML does', async () => {
    const app = await scriptServer('sample-score.ts');
    try {
      const res = await post(app, JSON.stringify({ data: [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]] }), {
        'content-type': 'text/plain',
      });
      expect(res.statusCode).toBe(415);
    } finally {
      await app.close();
    }
  });

  it('takes several named inputs from a record sample, int64 kept exact', async () => {
    const app = await scriptServer('record-sample.mjs');
    try {
      const res = await post(app, '{"ids": ["9007199254740993", 2], "label": "dog", "scale": 0.25}');
      expect(res.json()).toEqual({ count: 2, label: 'dog', first: '9007199254740993', scaled: 0.5 });
      const missing = await post(app, '{"ids": [1], "label": "dog"}');
      expect(missing.statusCode).toBe(400);
      expect(missing.json().message).toBe('scale is missing');
      const doc = (await app.inject({ method: 'GET', url: '/swagger.json' })).json();
      await SwaggerParser.validate(structuredClone(doc));
      expect(doc.definitions.ServiceInput.properties.ids.items).toEqual({ type: 'integer', format: 'int64' });
      expect(doc.definitions.ServiceInput.example).toEqual({ ids: [1, 2], label: 'cat', scale: 1.5 });
    } finally {
      await app.close();
    }
  });
});

describe('raw HTTP mode (@rawhttp, AMLRequest / AMLResponse)', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await scriptServer('raw-image.mjs');
  });
  afterAll(() => app.close());

  it('hands the script a binary body (a PNG) and sends its response, CORS header included', async () => {
    const png = Buffer.concat([
      Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'),
      Buffer.from([0, 0, 0, 64, 0, 0, 0, 48]),
      Buffer.alloc(100, 7),
    ]);
    const res = await post(app, png, { 'content-type': 'image/png' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ width: 64, height: 48, contentType: 'image/png' });
    expect(res.headers['access-control-allow-origin']).toBe('https://script.example');
    expect(res.headers['x-image-bytes']).toBe(String(png.length));
  });

  it('passes GET with its query, lets the script answer preflight when the server has no CORS settings, and relays its status', async () => {
    const get = await app.inject({ method: 'GET', url: '/score?q=hello' });
    expect(get.body).toBe('query hello');
    expect(get.headers['content-type']).toMatch(/text\/plain/);
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/score',
      headers: { origin: 'https://script.example' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-methods']).toBe('POST');
    const notPng = await post(app, Buffer.from('hello'), { 'content-type': 'application/octet-stream' });
    expect(notPng.statusCode).toBe(400);
    expect(notPng.json()).toEqual({ error: 'not a PNG' });
  });
});

describe('script modules of every kind', () => {
  it('loads a CommonJS script that imports the script API dynamically', async () => {
    const app = await scriptServer('commonjs-score.cjs', { modelDir: work.path });
    try {
      const res = await post(app, 'abcdef', { 'content-type': 'text/plain' });
      expect(res.json()).toEqual({ length: 6, modelDir: work.path, api: 'function' });
    } finally {
      await app.close();
    }
  });

  it('fails to start with a clear error when init() throws, and is never ready', async () => {
    const app = buildServer({
      models: [],
      logger: false,
      entryScript: { file: join(SCRIPTS, 'bad-init.mjs') },
    });
    await expect(app.scoringLoaded).rejects.toThrow(
      /entry script .*bad-init\.mjs failed to start: cannot find my weights/,
    );
    expect((await app.inject({ method: 'GET', url: '/' })).body).toBe('Healthy');
    expect((await app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode).toBe(503);
    expect((await app.inject({ method: 'POST', url: '/score', payload: '{}' })).statusCode).toBe(503);
    await app.close();
  });
});

describe('an entry script beside models served on /v2', () => {
  it('sends /score to the script and /v2 inference to the models', async () => {
    const { fixtureSources } = await import('../../support/scoring.js');
    const models = await fixtureSources(join(work.path, 'both'), ['regression10']);
    const app = buildServer({
      models,
      logger: false,
      entryScript: { file: join(SCRIPTS, 'behaviours.mjs') },
    });
    await app.scoringLoaded;
    try {
      expect((await post(app, '{"do": "echo"}')).json()).toEqual({ echo: { do: 'echo' } });
      const v2 = await app.inject({
        method: 'POST',
        url: '/v2/models/regression10/infer',
        payload: { inputs: [{ name: 'x', shape: [1, 10], datatype: 'FP32', data: GUIDE_SAMPLE[0] }] },
      });
      expect(v2.json().outputs[0].data).toEqual(regression10Expected([GUIDE_SAMPLE[0] as number[]]));
      expect((await app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});
