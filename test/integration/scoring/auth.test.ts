import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../../modules/scoring/auth/tokens.js';
import { GUIDE_SAMPLE } from '../../support/fixture-reference.js';
import { fixtureServer } from '../../support/scoring.js';
import { tempDir } from '../../support/tmp.js';
import { eventually } from './helpers.js';

const work = tempDir('auth');
afterAll(() => work.cleanup());

const score = (app: FastifyInstance, authorization?: string) =>
  app.inject({
    method: 'POST',
    url: '/score',
    payload: { data: GUIDE_SAMPLE },
    headers: authorization ? { authorization } : {},
  });

describe('key auth with a primary and a secondary key', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await fixtureServer(join(work.path, 'keys'), ['regression10'], {
      auth: { keys: ['primary-key-0123456789', 'secondary-key-abcdef'] },
    });
  });
  afterAll(() => app.close());

  it('accepts either key as a Bearer token', async () => {
    expect((await score(app, 'Bearer primary-key-0123456789')).statusCode).toBe(200);
    expect((await score(app, 'Bearer secondary-key-abcdef')).statusCode).toBe(200);
    expect((await score(app, 'bearer   secondary-key-abcdef ')).statusCode).toBe(200);
  });

  it.each([
    ['no header', undefined, 'AUTH_REQUIRED'],
    ['a wrong key', 'Bearer primary-key-012345678', 'KEY_INVALID'],
    ['a longer key', 'Bearer primary-key-0123456789x', 'KEY_INVALID'],
    ['another scheme', 'Basic cHJpbWFyeS1rZXk=', 'AUTH_REQUIRED'],
    ['an empty bearer', 'Bearer ', 'AUTH_REQUIRED'],
  ])('answers %s with a 401 JSON error', async (_label, header, code) => {
    const res = await score(app, header);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.json()).toEqual({
      error: { code, message: expect.any(String), requestId: expect.any(String) },
      message: expect.any(String),
    });
  });

  it('protects /v2 inference, metadata, /metrics and /admin, but not health probes or the API documents', async () => {
    const infer = { inputs: [{ name: 'x', shape: [1, 10], datatype: 'FP32', data: GUIDE_SAMPLE[0] }] };
    for (const [method, url] of [
      ['POST', '/v2/models/regression10/infer'],
      ['GET', '/v2/models/regression10'],
      ['GET', '/metrics'],
      ['GET', '/admin/models'],
    ] as const) {
      expect(
        (await app.inject({ method, url, payload: method === 'POST' ? infer : undefined })).statusCode,
        url,
      ).toBe(401);
    }
    for (const url of [
      '/',
      '/v2/health/live',
      '/v2/health/ready',
      '/ready',
      '/v2',
      '/swagger.json',
      '/openapi.json',
    ]) {
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    }
    const ok = await app.inject({
      method: 'POST',
      url: '/v2/models/regression10/infer',
      payload: infer,
      headers: { authorization: 'Bearer secondary-key-abcdef' },
    });
    expect(ok.statusCode).toBe(200);
  });

  it('answers unknown routes 404 without asking for a key', async () => {
    expect((await app.inject({ method: 'GET', url: '/nope' })).statusCode).toBe(404);
  });
});

describe('health routes protected by configuration', () => {
  it('asks for a key on probes too when protectHealth is set', async () => {
    const app = await fixtureServer(join(work.path, 'health'), ['regression10'], {
      auth: { keys: ['k1'], protectHealth: true },
    });
    try {
      expect((await app.inject({ method: 'GET', url: '/' })).statusCode).toBe(401);
      expect((await app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode).toBe(401);
      expect(
        (await app.inject({ method: 'GET', url: '/', headers: { authorization: 'Bearer k1' } })).body,
      ).toBe('Healthy');
      expect((await app.inject({ method: 'GET', url: '/swagger.json' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('keys rotated without a restart, from a watched key file', () => {
  it('follows the file through in-place writes and editor-style rename-over saves', async () => {
    const file = join(work.path, 'keys.txt');
    writeFileSync(file, '# primary, then secondary\nold-primary\nold-secondary\n');
    const app = await fixtureServer(join(work.path, 'rotate'), ['regression10'], { auth: { keyFile: file } });
    try {
      await eventually(async () => (await score(app, 'Bearer old-primary')).statusCode === 200);
      expect((await score(app, 'Bearer old-secondary')).statusCode).toBe(200);

      // Rotation step 1: the secondary becomes primary, a new secondary appears (in-place write).
      writeFileSync(file, 'old-secondary\nnew-secondary\n');
      await eventually(async () => (await score(app, 'Bearer new-secondary')).statusCode === 200);
      expect((await score(app, 'Bearer old-primary')).statusCode).toBe(401);

      // An editor saves by writing a temporary file and renaming it over the key file; Azure ML's JSON shape.
      const temp = join(work.path, 'keys.txt.tmp');
      writeFileSync(temp, JSON.stringify({ primaryKey: 'json-primary', secondaryKey: 'json-secondary' }));
      renameSync(temp, file);
      await eventually(async () => (await score(app, 'Bearer json-secondary')).statusCode === 200);
      expect((await score(app, 'Bearer old-secondary')).statusCode).toBe(401);
      expect((await score(app, 'Bearer json-primary')).statusCode).toBe(200);

      // A file that cannot be parsed keeps the keys from before.
      writeFileSync(file, '{"primaryKey": ');
      await new Promise((r) => setTimeout(r, 300));
      expect((await score(app, 'Bearer json-primary')).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('fails closed when the key file does not exist', async () => {
    const app = await fixtureServer(join(work.path, 'missing'), ['regression10'], {
      auth: { keyFile: join(work.path, 'absent.txt') },
    });
    try {
      expect((await score(app, 'Bearer anything')).statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });
});

describe('token auth with expiring signed tokens', () => {
  const secret = 'token-secret-for-tests';
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await fixtureServer(join(work.path, 'tokens'), ['regression10'], {
      auth: { tokenSecret: secret, keys: ['a-key'] },
    });
  });
  afterAll(() => app.close());

  it('accepts a fresh token and still accepts keys', async () => {
    expect((await score(app, `Bearer ${mintToken(secret, 60, { subject: 'dashboard' })}`)).statusCode).toBe(
      200,
    );
    expect((await score(app, 'Bearer a-key')).statusCode).toBe(200);
  });

  it.each([
    ['an expired token', () => mintToken(secret, 60, { now: Date.now() - 120_000 }), /token expired/],
    ['a token signed with another secret', () => mintToken('other-secret', 60), /bad token signature/],
    [
      'a token whose payload was edited',
      () => {
        const [p, , s] = mintToken(secret, 60).split('.');
        const forged = Buffer.from(JSON.stringify({ exp: 9_999_999_999, iat: 0 })).toString('base64url');
        return `${p}.${forged}.${s}`;
      },
      /bad token signature/,
    ],
    ['a malformed token', () => 'mp1.abc', /malformed token/],
  ])('refuses %s', async (_label, token, reason) => {
    const res = await score(app, `Bearer ${token()}`);
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('TOKEN_INVALID');
    expect(res.json().message).toMatch(reason);
  });
});
