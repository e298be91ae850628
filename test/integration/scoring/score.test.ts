import SwaggerParser from '@apidevtools/swagger-parser';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GUIDE_SAMPLE, regression10Expected } from '../../support/fixture-reference.js';
import { INT64_ADD, INT64_MUL } from '../../support/onnx/fixtures.js';
import { fixtureServer } from '../../support/scoring.js';
import { tempDir } from '../../support/tmp.js';

const work = tempDir('score');
let app: FastifyInstance;
beforeAll(async () => {
  app = await fixtureServer(work.path, ['regression10'], { bodyLimit: 1024 * 1024 });
});
afterAll(async () => {
  await app.close();
  work.cleanup();
});

const score = (payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: '/score',
    payload: payload as string,
    headers: { 'content-type': 'application/json', ...headers },
  });

describe('scoring server on regression10 (the guide model)', () => {
  it('GET / answers Healthy', async () => {
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('Healthy');
  });

  it('POST /score returns the predictions for the guide sample', async () => {
    const res = await score(JSON.stringify({ data: GUIDE_SAMPLE }));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.json()).toEqual(regression10Expected(GUIDE_SAMPLE).map((v) => [v]));
    expect(res.headers['x-ms-run-function-failed']).toBe('False');
    expect(Number(res.headers['x-ms-run-fn-exec-ms'])).toBeGreaterThan(0);
  });

  it('accepts one sample without its batch dimension, and a body sent without a JSON content type', async () => {
    const one = await score(JSON.stringify({ data: GUIDE_SAMPLE[0] }));
    expect(one.json()).toEqual([[regression10Expected([GUIDE_SAMPLE[0] as number[]])[0]]]);
    const plain = await app.inject({
      method: 'POST',
      url: '/score',
      payload: JSON.stringify({ data: GUIDE_SAMPLE }),
    });
    expect(plain.statusCode).toBe(200);
  });

  it('echoes client request ids and makes one when none is sent', async () => {
    const res = await score(JSON.stringify({ data: GUIDE_SAMPLE }), {
      'x-request-id': 'abc-123',
      'x-ms-client-request-id': 'client-9',
    });
    expect(res.headers['x-request-id']).toBe('abc-123');
    expect(res.headers['x-ms-client-request-id']).toBe('client-9');
    expect(res.headers['x-ms-request-id']).toBe('client-9');
    const fresh = await score(JSON.stringify({ data: GUIDE_SAMPLE }));
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves a Swagger 2.0 document a standard validator accepts, typed from the ONNX metadata', async () => {
    const res = await app.inject({ method: 'GET', url: '/swagger.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    await SwaggerParser.validate(structuredClone(doc));
    expect(Object.keys(doc.paths)).toEqual(['/', '/score', '/swagger.json']);
    expect(Object.keys(doc.definitions)).toEqual(['ServiceInput', 'ServiceOutput', 'ErrorResponse']);
    const data = doc.definitions.ServiceInput.properties.data;
    expect(data).toMatchObject({
      type: 'array',
      format: 'numpy.ndarray',
      items: { type: 'array', items: { type: 'number', format: 'float' } },
    });
    expect(data.example).toEqual([Array(10).fill(0)]);
    expect((await app.inject({ method: 'GET', url: '/swagger.json?version=9' })).statusCode).toBe(404);
  });

  it('serves OpenAPI 3.0 and 3.1 documents a standard validator accepts, with the same schemas', async () => {
    const v2 = (await app.inject({ method: 'GET', url: '/swagger.json' })).json();
    for (const url of ['/openapi.json', '/swagger.json?version=3', '/openapi.json?version=3.1']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      const doc = res.json();
      await SwaggerParser.validate(structuredClone(doc));
      expect(doc.openapi).toBe(url.endsWith('3.1') ? '3.1.0' : '3.0.3');
      expect(doc.components.schemas.ServiceInput).toEqual(v2.definitions.ServiceInput);
      expect(doc.paths['/score'].post.requestBody.content['application/json'].schema).toEqual({
        $ref: '#/components/schemas/ServiceInput',
      });
      expect(doc.security).toEqual([{ Bearer: [] }]);
    }
    expect((await app.inject({ method: 'GET', url: '/openapi.json?version=2' })).statusCode).toBe(404);
  });

  it('answers OIP v2 infer and readiness', async () => {
    expect((await app.inject({ method: 'GET', url: '/v2/health/ready' })).json()).toEqual({ ready: true });
    const res = await app.inject({
      method: 'POST',
      url: '/v2/models/regression10/infer',
      payload: {
        id: 'r1',
        inputs: [{ name: 'x', shape: [2, 10], datatype: 'FP32', data: GUIDE_SAMPLE.flat() }],
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      model_name: 'regression10',
      model_version: '1',
      id: 'r1',
      outputs: [{ name: 'y', datatype: 'FP32', shape: [2, 1], data: regression10Expected(GUIDE_SAMPLE) }],
    });
  });
});

describe('client errors get 4xx JSON and the server keeps serving', () => {
  const row = Array(10).fill(1);
  it.each([
    ['malformed JSON', '{"data": [[1,2', 400, 'JSON_INVALID'],
    ['an empty body', '', 400, 'BODY_EMPTY'],
    ['no data field', JSON.stringify({ rows: [row] }), 400, 'DATA_MISSING'],
    ['data that is not an array', JSON.stringify({ data: 'abc' }), 400, 'DATA_INVALID'],
    ['a wrong row length', JSON.stringify({ data: [[1, 2, 3]] }), 400, 'SHAPE_MISMATCH'],
    ['a wrong rank', JSON.stringify({ data: [[[1]]] }), 400, 'SHAPE_MISMATCH'],
    ['ragged rows', JSON.stringify({ data: [row, [1, 2]] }), 400, 'SHAPE_MISMATCH'],
    [
      'a string where a number goes',
      JSON.stringify({ data: [[...row.slice(1), 'x']] }),
      400,
      'TYPE_MISMATCH',
    ],
    ['null values', JSON.stringify({ data: [[...row.slice(1), null]] }), 400, 'TYPE_MISMATCH'],
    ['an empty batch', JSON.stringify({ data: [] }), 400, 'EMPTY_INPUT'],
    ['a JSON array body', JSON.stringify([row]), 400, 'BODY_INVALID'],
    ['a body over the limit', JSON.stringify({ data: Array(60000).fill(row) }), 413, 'BODY_TOO_LARGE'],
  ])('%s', async (_label, body, status, code) => {
    const res = await score(body);
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
    expect(res.json().message).toEqual(expect.any(String));
    expect((await score(JSON.stringify({ data: [row] }))).statusCode).toBe(200);
  });

  it('unknown routes and methods', async () => {
    expect((await app.inject({ method: 'GET', url: '/nope' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'PUT', url: '/score', payload: {} })).statusCode).toBe(405);
    expect((await app.inject({ method: 'OPTIONS', url: '/score' })).statusCode).toBe(200);
  });
});

describe('several models, several inputs, int64', () => {
  let multi: FastifyInstance;
  const dir = tempDir('score-multi');
  beforeAll(async () => {
    multi = await fixtureServer(dir.path, ['two_input', 'int64_affine', 'string_identity']);
  });
  afterAll(async () => {
    await multi.close();
    dir.cleanup();
  });

  it('routes /score by ?model= and takes {"data": {input: …}} for several inputs', async () => {
    const res = await multi.inject({
      method: 'POST',
      url: '/score?model=two_input',
      payload: { data: { a: [[1, 2, 3, 4]], b: [[10, 20, 30, 40]] } },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ sum: [[11, 22, 33, 44]], product: [[10, 40, 90, 160]] });
    const missing = await multi.inject({
      method: 'POST',
      url: '/score?model=two_input',
      payload: { data: { a: [[1, 2, 3, 4]] } },
    });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.code).toBe('INPUT_MISSING');
    const unnamed = await multi.inject({ method: 'POST', url: '/score', payload: { data: [[1]] } });
    expect(unnamed.statusCode).toBe(400);
    expect(unnamed.json().error.code).toBe('MODEL_REQUIRED');
    const unknown = await multi.inject({
      method: 'POST',
      url: '/score?model=ghost',
      payload: { data: [[1]] },
    });
    expect(unknown.statusCode).toBe(404);
  });

  it('keeps int64 exact beyond 2^53, in and out', async () => {
    const big = 2n ** 60n + 1n;
    const res = await multi.inject({
      method: 'POST',
      url: '/score?model=int64_affine',
      payload: `{"data": [[1, "${big}", -4]]}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(
      `[[${1n * INT64_MUL + INT64_ADD},${big * INT64_MUL + INT64_ADD},${-4n * INT64_MUL + INT64_ADD}]]`,
    );
    const fractional = await multi.inject({
      method: 'POST',
      url: '/score?model=int64_affine',
      payload: { data: [[1.5, 2, 3]] },
    });
    expect(fractional.statusCode).toBe(400);
  });

  it('carries strings through BYTES on v2 and /score', async () => {
    const res = await multi.inject({
      method: 'POST',
      url: '/v2/models/string_identity/infer',
      payload: { inputs: [{ name: 'x', shape: [1, 3], datatype: 'BYTES', data: ['a', 'b', 'ç'] }] },
    });
    expect(res.json().outputs[0]).toEqual({
      name: 'y',
      datatype: 'BYTES',
      shape: [1, 3],
      data: ['a', 'b', 'ç'],
    });
  });
});

describe('a model onnxruntime cannot load', () => {
  it('fails loading with a message naming the model and the reason, and is not ready', async () => {
    const dir = tempDir('score-bad');
    const { buildServer } = await import('../../../modules/scoring/server.js');
    const { fixtureSources } = await import('../../support/scoring.js');
    const bad = buildServer({ models: await fixtureSources(dir.path, ['unsupported_op']), logger: false });
    await expect(bad.modelHost.loaded).rejects.toThrow(
      /model 'unsupported_op' cannot be loaded by onnxruntime: .*NoSuchOperator/,
    );
    expect((await bad.inject({ method: 'GET', url: '/' })).body).toBe('Healthy');
    expect((await bad.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode).toBe(503);
    await bad.close();
    dir.cleanup();
  });
});
