import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../../modules/scoring/server.js';
import { fixtureSources } from '../../support/scoring.js';
import { tempDir } from '../../support/tmp.js';
import { captureLogs } from './helpers.js';

const work = tempDir('ep');
afterAll(() => work.cleanup());

describe('execution providers', () => {
  it('runs on cpu by default and says so in GET /v2 and the log', async () => {
    const logs = captureLogs();
    const app = buildServer({
      models: await fixtureSources(join(work.path, 'cpu'), ['regression10']),
      logger: pino({ level: 'info' }, logs.stream),
    });
    try {
      await app.scoringLoaded;
      const meta = (await app.inject({ method: 'GET', url: '/v2' })).json();
      expect(meta.execution.providers).toMatchObject({
        chosen: ['cpu'],
        reason: 'default (no provider was asked for)',
      });
      expect(logs.lines().some((l) => String(l.msg).startsWith('execution providers: cpu'))).toBe(true);
    } finally {
      await app.close();
    }
  });

  it.each([
    ['cuda', /execution provider cuda is not available: cuda: .*(not installed|no NVIDIA GPU)/],
    ['tensorrt', /execution provider tensorrt is not available/],
    ['nosuchprovider', /offers cpu.*not nosuchprovider/],
  ])('refuses to start on %s when it is not available here, naming why', async (provider, message) => {
    const app = buildServer({
      models: await fixtureSources(join(work.path, provider), ['regression10']),
      logger: false,
      executionProviders: [provider],
    });
    await expect(app.scoringLoaded).rejects.toThrow(message);
    await expect(app.scoringLoaded).rejects.toMatchObject({ code: 'EXECUTION_PROVIDER_UNAVAILABLE' });
    expect((await app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode).toBe(503);
    await app.close();
  });

  it('falls back to the fallback list when one is given, and logs the fallback', async () => {
    const logs = captureLogs();
    const app = buildServer({
      models: await fixtureSources(join(work.path, 'fallback'), ['regression10']),
      logger: pino({ level: 'info' }, logs.stream),
      executionProviders: ['cuda'],
      fallbackProviders: ['cpu'],
    });
    try {
      await app.scoringLoaded;
      const meta = (await app.inject({ method: 'GET', url: '/v2' })).json();
      expect(meta.execution.providers).toMatchObject({
        requested: ['cuda'],
        fallback: ['cpu'],
        chosen: ['cpu'],
      });
      expect(meta.execution.providers.reason).toMatch(/^fell back: cuda: /);
      const model = (await app.inject({ method: 'GET', url: '/v2/models/regression10' })).json();
      expect(model.parameters.execution_providers).toEqual(['cpu']);
      const line = logs.lines().find((l) => String(l.msg).includes('fell back'));
      expect(line?.level).toBe(40); // warn
      const score = await app.inject({
        method: 'POST',
        url: '/score',
        payload: { data: [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]] },
      });
      expect(score.statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});
