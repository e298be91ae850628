import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GUIDE_SAMPLE } from '../../support/fixture-reference.js';
import { fixtureServer } from '../../support/scoring.js';
import { tempDir } from '../../support/tmp.js';

const work = tempDir('cors-metrics');
afterAll(() => work.cleanup());

describe('CORS', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await fixtureServer(join(work.path, 'cors'), ['regression10'], {
      cors: { origins: ['https://app.example.com', 'http://localhost:3000'] },
      auth: { keys: ['k'] },
    });
  });
  afterAll(() => app.close());

  it('answers preflight for an allowed origin before auth, with 200 and no body', async () => {
    const res = await app.inject({
      method: 'OPTIONS',
      url: '/score',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(res.headers['access-control-allow-methods']).toContain('POST');
    expect(res.headers['access-control-allow-headers']).toBe('authorization,content-type');
  });

  it('echoes only listed origins (no wildcard), on replies and on 401s', async () => {
    const ok = await app.inject({
      method: 'POST',
      url: '/score',
      payload: { data: GUIDE_SAMPLE },
      headers: { origin: 'http://localhost:3000', authorization: 'Bearer k' },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    expect(ok.headers['access-control-expose-headers']).toContain('x-ms-request-id');
    const denied = await app.inject({
      method: 'POST',
      url: '/score',
      payload: { data: GUIDE_SAMPLE },
      headers: { origin: 'https://app.example.com' },
    });
    expect(denied.statusCode).toBe(401);
    expect(denied.headers['access-control-allow-origin']).toBe('https://app.example.com');
    const other = await app.inject({
      method: 'POST',
      url: '/score',
      payload: { data: GUIDE_SAMPLE },
      headers: { origin: 'https://evil.example', authorization: 'Bearer k' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/score',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('sends no CORS headers when none are configured, and * only when configured', async () => {
    const plain = await fixtureServer(join(work.path, 'plain'), ['regression10']);
    const star = await fixtureServer(join(work.path, 'star'), ['regression10'], { cors: { origins: ['*'] } });
    try {
      const a = await plain.inject({
        method: 'POST',
        url: '/score',
        payload: { data: GUIDE_SAMPLE },
        headers: { origin: 'https://x.example' },
      });
      expect(a.headers['access-control-allow-origin']).toBeUndefined();
      const b = await star.inject({
        method: 'POST',
        url: '/score',
        payload: { data: GUIDE_SAMPLE },
        headers: { origin: 'https://x.example' },
      });
      expect(b.headers['access-control-allow-origin']).toBe('*');
    } finally {
      await Promise.all([plain.close(), star.close()]);
    }
  });
});

describe('request ids', () => {
  it('echoes x-request-id and the client id, prefers x-ms-request-id, and refuses ids over 100 characters', async () => {
    const app = await fixtureServer(join(work.path, 'ids'), ['regression10']);
    try {
      const legacy = await app.inject({
        method: 'GET',
        url: '/',
        headers: { 'x-ms-request-id': 'legacy-id' },
      });
      expect(legacy.headers['x-ms-request-id']).toBe('legacy-id');
      expect(legacy.headers['x-ms-client-request-id']).toBe('legacy-id');
      expect(legacy.headers['x-ms-server-version']).toMatch(/^modelport\//);
      const long = await app.inject({
        method: 'GET',
        url: '/',
        headers: { 'x-request-id': 'x'.repeat(101) },
      });
      expect(long.statusCode).toBe(431);
    } finally {
      await app.close();
    }
  });
});

describe('SERVICE_PATH_PREFIX', () => {
  it('answers under the prefix as well as without it', async () => {
    const app = await fixtureServer(join(work.path, 'prefix'), ['regression10'], {
      pathPrefix: '/fraud-model/',
    });
    try {
      expect((await app.inject({ method: 'GET', url: '/fraud-model' })).body).toBe('Healthy');
      const res = await app.inject({
        method: 'POST',
        url: '/fraud-model/score?x=1',
        payload: { data: GUIDE_SAMPLE },
      });
      expect(res.statusCode).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/fraud-model/swagger.json' })).statusCode).toBe(200);
      expect(
        (await app.inject({ method: 'POST', url: '/score', payload: { data: GUIDE_SAMPLE } })).statusCode,
      ).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/fraud-modelx/score' })).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });
});

describe('Prometheus /metrics', () => {
  it('counts requests by model and status and records latency, queue time, batch size, inference and load time', async () => {
    const app = await fixtureServer(join(work.path, 'metrics'), ['regression10', 'two_input']);
    try {
      for (let i = 0; i < 3; i++) {
        await app.inject({
          method: 'POST',
          url: '/score?model=regression10',
          payload: { data: GUIDE_SAMPLE },
        });
      }
      await app.inject({ method: 'POST', url: '/score?model=regression10', payload: { data: [[1]] } });
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/plain/);
      const text = res.body;
      const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1]);
      expect(
        value(/modelport_requests_total\{route="\/score",model="regression10",status="200"\} (\d+)/),
      ).toBe(3);
      expect(
        value(/modelport_requests_total\{route="\/score",model="regression10",status="400"\} (\d+)/),
      ).toBe(1);
      expect(
        value(/modelport_request_duration_seconds_count\{route="\/score",model="regression10"\} (\d+)/),
      ).toBe(4);
      expect(value(/modelport_queue_duration_seconds_count\{model="regression10"\} (\d+)/)).toBe(3);
      expect(value(/modelport_batch_size_sum\{model="regression10"\} (\d+)/)).toBe(6); // 3 requests × 2 rows
      expect(value(/modelport_inference_duration_seconds_count\{model="regression10"\} (\d+)/)).toBe(3);
      expect(
        value(/modelport_model_load_duration_seconds\{model="two_input",version="1"\} ([0-9.e-]+)/),
      ).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  });

  it("keeps each server's counts in its own registry", async () => {
    const a = await fixtureServer(join(work.path, 'm1'), ['regression10']);
    const b = await fixtureServer(join(work.path, 'm2'), ['regression10']);
    try {
      await a.inject({ method: 'POST', url: '/score', payload: { data: GUIDE_SAMPLE } });
      const textB = (await b.inject({ method: 'GET', url: '/metrics' })).body;
      expect(textB).not.toMatch(/modelport_requests_total\{route="\/score"/);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
