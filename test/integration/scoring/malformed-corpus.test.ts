import { join } from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../../modules/scoring/server.js';
import { fixtureSources } from '../../support/scoring.js';
import { tempDir } from '../../support/tmp.js';
import { httpRequest, type RawReply, rawRequest, SCRIPTS } from './helpers.js';

/**
 * A corpus of malformed requests against every route of a real listening server: generated JSON
 * and bytes (fast-check, fixed seed), truncated bodies, wrong shapes and types, huge dims, NaN
 * strings, negative sizes, mismatched binary header lengths, 50 MB bodies, stalled bodies and
 * broken framing. The server must never crash, never answer 5xx to a client error, and its memory
 * must stay bounded.
 */
const work = tempDir('corpus');
const KEY = 'corpus-key';
const BODY_LIMIT = 1024 * 1024;
let app: FastifyInstance;
let script: FastifyInstance;
let port: number;
let scriptPort: number;

const portOf = (a: FastifyInstance) => {
  const address = a.server.address();
  return typeof address === 'object' && address ? address.port : 0;
};

beforeAll(async () => {
  const limits = {
    bodyLimit: BODY_LIMIT,
    connectionTimeout: 5_000,
    requestTimeout: 1_500,
    keepAliveTimeout: 1_000,
  };
  app = buildServer({
    models: await fixtureSources(work.path, [
      'regression10',
      'two_input',
      'int64_affine',
      'string_identity',
      'mnist_mlp',
    ]),
    logger: false,
    auth: { keys: [KEY] },
    ...limits,
  });
  script = buildServer({
    models: [],
    logger: false,
    entryScript: { file: join(SCRIPTS, 'sample-score.ts') },
    ...limits,
  });
  await Promise.all([app.scoringLoaded, script.scoringLoaded]);
  await app.listen({ port: 0, host: '127.0.0.1' });
  await script.listen({ port: 0, host: '127.0.0.1' });
  port = portOf(app);
  scriptPort = portOf(script);
});
afterAll(async () => {
  await Promise.all([app.close(), script.close()]);
  work.cleanup();
});

const auth = { authorization: `Bearer ${KEY}` };
const json = { 'content-type': 'application/json', ...auth };
const ROUTES = [
  '/score',
  '/score?model=regression10',
  '/score?model=two_input',
  '/score?model=int64_affine',
  '/score?model=string_identity',
  '/v2/models/regression10/infer',
  '/v2/models/regression10/versions/1/infer',
  '/v2/models/two_input/infer',
  '/v2/models/string_identity/infer',
  '/admin/models/regression10',
];
const GET_ROUTES = [
  '/',
  '/ready',
  '/v2',
  '/v2/health/live',
  '/v2/health/ready',
  '/v2/models/regression10',
  '/v2/models/regression10/versions/1',
  '/v2/models/regression10/ready',
  '/swagger.json',
  '/openapi.json',
  '/metrics',
  '/admin/models',
];

interface Case {
  label: string;
  send: () => Promise<RawReply>;
  /** Statuses this case may answer (a crash shows as no answer). */
  allowed?: (status: number) => boolean;
}

const clientError = (s: number) => s >= 400 && s < 500;
const post =
  (path: string, body: Buffer | string, headers: Record<string, string | number> = json, p = () => port) =>
  () =>
    rawRequest(p(), [httpRequest(path.startsWith('/admin') ? 'PUT' : 'POST', path, headers, body)]);

function generatedCases(): Case[] {
  const cases: Case[] = [];
  const seed = 20261130;
  // Random JSON documents against every POST route.
  const docs = fc.sample(fc.json({ maxDepth: 4 }), { numRuns: 40, seed });
  docs.forEach((doc, i) => {
    const route = ROUTES[i % ROUTES.length] as string;
    cases.push({ label: `generated JSON #${i} → ${route}`, send: post(route, doc), allowed: clientError });
  });
  // Random bytes, declared as JSON.
  const blobs = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 2000 }), { numRuns: 15, seed: seed + 1 });
  blobs.forEach((bytes, i) => {
    const route = ROUTES[(i * 3) % ROUTES.length] as string;
    cases.push({
      label: `random bytes #${i} → ${route}`,
      send: post(route, Buffer.from(bytes)),
      allowed: clientError,
    });
  });
  // Valid bodies cut short at random points.
  const valid = JSON.stringify({ data: [Array.from({ length: 784 }, (_, k) => k / 784)] });
  const cuts = fc.sample(fc.integer({ min: 1, max: valid.length - 2 }), { numRuns: 15, seed: seed + 2 });
  cuts.forEach((cut, i) => {
    cases.push({
      label: `truncated JSON at ${cut} → /score?model=mnist_mlp`,
      send: post('/score?model=mnist_mlp', valid.slice(0, cut)),
      allowed: clientError,
    });
    if (i < 5)
      cases.push({
        label: `truncated JSON at ${cut} → entry script`,
        send: post('/score', valid.slice(0, cut), { 'content-type': 'application/json' }, () => scriptPort),
        allowed: clientError,
      });
  });
  // Tensors with random shapes and values (numbers, NaN strings, nulls, nested junk).
  const tensor = fc.record({
    shape: fc.array(
      fc.oneof(fc.integer({ min: -5, max: 12 }), fc.constant(1e12), fc.constant('NaN'), fc.double()),
      { maxLength: 5 },
    ),
    datatype: fc.constantFrom('FP32', 'FP64', 'INT64', 'BYTES', 'BOOL', 'FP16', 'NaN', ''),
    data: fc.array(
      fc.oneof(
        fc.double(),
        fc.constant('NaN'),
        fc.constant(null),
        fc.string(),
        fc.array(fc.double(), { maxLength: 3 }),
      ),
      { maxLength: 30 },
    ),
  });
  fc.sample(tensor, { numRuns: 20, seed: seed + 3 }).forEach((t, i) => {
    const body = JSON.stringify({ inputs: [{ name: 'x', ...t }] });
    cases.push({
      label: `random tensor #${i} → v2 infer`,
      send: post('/v2/models/regression10/infer', body),
      allowed: clientError,
    });
  });
  return cases;
}

function handmadeCases(): Case[] {
  const row = Array.from({ length: 10 }, (_, i) => i);
  const big = (mb: number) => {
    // Streams `mb` MB in 64 KiB chunks; the client never holds it all.
    const chunk = Buffer.alloc(64 * 1024, 0x31);
    return Array.from({ length: mb * 16 }, () => chunk);
  };
  const binaryHeader = (size: number) =>
    JSON.stringify({
      inputs: [{ name: 'x', shape: [1, 10], datatype: 'FP32', parameters: { binary_data_size: size } }],
    });
  const binary = (headerLength: string | number, size: number, tail: Buffer) => {
    const header = Buffer.from(binaryHeader(size));
    return post('/v2/models/regression10/infer', Buffer.concat([header, tail]), {
      ...auth,
      'content-type': 'application/octet-stream',
      'inference-header-content-length': headerLength,
    });
  };
  return [
    {
      label: 'wrong row length',
      send: post('/score?model=regression10', JSON.stringify({ data: [[1, 2, 3]] })),
      allowed: clientError,
    },
    {
      label: 'rank too high',
      send: post('/score?model=regression10', JSON.stringify({ data: [[[row]]] })),
      allowed: clientError,
    },
    {
      label: 'NaN strings',
      send: post('/score?model=regression10', JSON.stringify({ data: [row.map(() => 'NaN')] })),
      allowed: clientError,
    },
    {
      label: 'numbers out of range for int64',
      send: post('/score?model=int64_affine', '{"data": [[1e300, 2, 3]]}'),
      allowed: clientError,
    },
    {
      label: 'nesting 100,000 deep',
      send: post('/score?model=regression10', `{"data": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`),
      allowed: clientError,
    },
    {
      label: 'wide ragged rows',
      send: post(
        '/score?model=mnist_mlp',
        JSON.stringify({ data: [Array(784).fill(0), ...Array(5000).fill([0])] }),
      ),
      allowed: clientError,
    },
    {
      label: 'huge v2 dims',
      send: post(
        '/v2/models/regression10/infer',
        JSON.stringify({ inputs: [{ name: 'x', shape: [4e9, 10], datatype: 'FP32', data: row }] }),
      ),
      allowed: clientError,
    },
    {
      label: 'negative v2 dims',
      send: post(
        '/v2/models/regression10/infer',
        JSON.stringify({ inputs: [{ name: 'x', shape: [-1, 10], datatype: 'FP32', data: row }] }),
      ),
      allowed: clientError,
    },
    {
      label: 'binary header longer than the body',
      send: binary(100_000, 40, Buffer.alloc(40)),
      allowed: clientError,
    },
    {
      label: 'negative binary header length',
      send: binary('-5', 40, Buffer.alloc(40)),
      allowed: clientError,
    },
    {
      label: 'binary header length inside the JSON',
      send: binary(10, 40, Buffer.alloc(40)),
      allowed: clientError,
    },
    {
      label: 'binary_data_size larger than the data',
      send: binary(binaryHeader(4000).length, 4000, Buffer.alloc(40)),
      allowed: clientError,
    },
    {
      label: 'binary_data_size of 2^60',
      send: binary(binaryHeader(2 ** 60).length, 2 ** 60, Buffer.alloc(40)),
      allowed: clientError,
    },
    {
      label: 'binary data shorter than the shape',
      send: binary(binaryHeader(8).length, 8, Buffer.alloc(8)),
      allowed: clientError,
    },
    {
      label: '50 MB body with a content-length',
      send: () =>
        rawRequest(port, [
          httpRequest('POST', '/score', { ...json, 'content-length': 50 * 1024 * 1024 }),
          ...big(50),
        ]),
      allowed: (s) => s === 413,
    },
    {
      label: '50 MB chunked body',
      send: () =>
        rawRequest(port, [
          httpRequest('POST', '/v2/models/regression10/infer', { ...json, 'transfer-encoding': 'chunked' }),
          ...big(50).map((c) =>
            Buffer.concat([Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n')]),
          ),
          '0\r\n\r\n',
        ]),
      allowed: (s) => s === 413,
    },
    {
      label: 'a body that stalls halfway',
      send: () =>
        rawRequest(port, [
          httpRequest('POST', '/score', { ...json, 'content-length': 1000 }),
          '{"data": [[1,',
          { pauseMs: 4_000 },
        ]),
      allowed: (s) => s === 408,
    },
    {
      label: 'headers that never end',
      send: () => rawRequest(port, ['POST /score HTTP/1.1\r\nhost: x\r\n', { pauseMs: 4_000 }]),
      allowed: (s) => s === 408,
    },
    {
      label: 'a body shorter than its content-length, then close',
      send: () =>
        rawRequest(port, [httpRequest('POST', '/score', { ...json, 'content-length': 500 }), '{"data": ']),
      allowed: (s) => s === 408,
    },
    {
      label: 'garbage instead of HTTP',
      send: () => rawRequest(port, ['\u0000\u0001GARBAGE\r\n\r\n']),
      allowed: (s) => s === 400,
    },
    {
      label: 'an invalid content-length',
      send: () =>
        rawRequest(port, [httpRequest('POST', '/score', { ...json, 'content-length': 'abc' }, '{}')]),
      allowed: clientError,
    },
    {
      label: 'a header over 16 KiB',
      send: () => rawRequest(port, [httpRequest('GET', '/', { 'x-big': 'y'.repeat(20_000) })]),
      allowed: clientError,
    },
    {
      label: 'an overlong request id',
      send: () => rawRequest(port, [httpRequest('GET', '/', { 'x-request-id': 'r'.repeat(500) })]),
      allowed: (s) => s === 431,
    },
    {
      label: 'a swagger version of junk',
      send: () => rawRequest(port, [httpRequest('GET', '/swagger.json?version=%ff%00', {})]),
      allowed: clientError,
    },
    {
      label: 'an unknown model name of 5000 characters',
      send: post(`/v2/models/${'m'.repeat(5000)}/infer`, '{}'),
      allowed: clientError,
    },
    {
      label: 'admin swap to a path outside',
      send: post('/admin/models/regression10', JSON.stringify({ version: '9', path: '/etc/passwd' })),
      allowed: clientError,
    },
    {
      label: 'admin swap of an invalid name',
      send: post('/admin/models/..%2F..', JSON.stringify({ version: '9', path: '/tmp' })),
      allowed: clientError,
    },
    {
      label: 'no key',
      send: post('/score', JSON.stringify({ data: [row] }), { 'content-type': 'application/json' }),
      allowed: (s) => s === 401,
    },
    {
      label: 'a wrong key 10 KB long',
      send: post('/score', '{}', { ...json, authorization: `Bearer ${'k'.repeat(10_000)}` }),
      allowed: (s) => s === 401,
    },
    {
      label: 'entry script: wrong element type',
      send: post(
        '/score',
        JSON.stringify({ data: [[1, 2, 'x']] }),
        { 'content-type': 'application/json' },
        () => scriptPort,
      ),
      allowed: clientError,
    },
    {
      label: 'entry script: not JSON',
      send: post(
        '/score',
        'data=1',
        { 'content-type': 'application/x-www-form-urlencoded' },
        () => scriptPort,
      ),
      allowed: clientError,
    },
    ...GET_ROUTES.flatMap((route) => [
      {
        label: `DELETE ${route}`,
        send: () => rawRequest(port, [httpRequest('DELETE', route, auth)]),
        allowed: clientError,
      },
      {
        label: `POST junk to ${route}`,
        send: post(route, '\u0000junk'),
        allowed: (s: number) => clientError(s) || s === 200,
      },
    ]),
  ];
}

describe('a corpus of malformed requests against a listening server', () => {
  it('never crashes, never answers 5xx to a client error, and keeps memory bounded', async () => {
    const cases = [...generatedCases(), ...handmadeCases()];
    expect(cases.length).toBeGreaterThanOrEqual(50);
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const failures: string[] = [];
    for (const c of cases) {
      const reply = await c.send();
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      if (reply.status === undefined || reply.status >= 500 || !(c.allowed ?? clientError)(reply.status)) {
        failures.push(`${c.label}: ${reply.status ?? 'no answer'} ${reply.body.slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);
    // Still serving, on both servers.
    const health = await fetch(`http://127.0.0.1:${port}/`);
    expect(await health.text()).toBe('Healthy');
    const ok = await fetch(`http://127.0.0.1:${port}/score?model=regression10`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ data: [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]] }),
    });
    expect(ok.status).toBe(200);
    const scripted = await fetch(`http://127.0.0.1:${scriptPort}/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]] }),
    });
    expect(scripted.status).toBe(200);
    // A resource bound, not a timing: 50 MB bodies and huge claimed shapes did not become allocations.
    expect(rssPeak - rssBefore).toBeLessThan(200 * 1024 * 1024);
  }, 300_000);
});
