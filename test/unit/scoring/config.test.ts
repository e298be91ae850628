import { describe, expect, it } from 'vitest';
import { batchingFromEnv, configFromEnv } from '../../../modules/scoring/config.js';

describe('the container configuration from the environment', () => {
  it('reads Azure ML and modelport settings once, with defaults', () => {
    const c = configFromEnv({
      AZUREML_ENTRY_SCRIPT: 'score.js',
      AML_APP_ROOT: '/var/azureml-app',
      WORKER_COUNT: '3',
      SCORING_TIMEOUT_MS: '5000',
      AML_CORS_ORIGINS: 'https://a.example, https://b.example',
      MODELPORT_AUTH_KEYS: 'k1,k2',
      MODELPORT_EXECUTION_PROVIDERS: 'cuda',
      MODELPORT_EP_FALLBACK: 'cpu',
      SERVICE_NAME: 'fraud',
      AZUREML_LOG_LEVEL: 'WARNING',
    });
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 5001 });
    expect(c.logLevel).toBe('warn');
    expect(c.server).toMatchObject({
      models: [],
      entryScript: { file: '/var/azureml-app/score.js', workers: 3 },
      scoringTimeoutMs: 5000,
      cors: { origins: ['https://a.example', 'https://b.example'] },
      auth: { keys: ['k1', 'k2'], protectHealth: false },
      executionProviders: ['cuda'],
      fallbackProviders: ['cpu'],
      serviceName: 'fraud',
      bodyLimit: 10 * 1024 * 1024,
    });
  });

  it('reads batching defaults and per-model settings', () => {
    expect(
      batchingFromEnv({
        MODELPORT_MAX_BATCH_SIZE: '16',
        MODELPORT_MAX_QUEUE_DELAY_MS: '1.5',
        MODELPORT_BATCHING: 'a=off; b=8,2',
      }),
    ).toEqual({
      maxBatchSize: 16,
      maxQueueDelayMs: 1.5,
      models: { a: false, b: { maxBatchSize: 8, maxQueueDelayMs: 2 } },
    });
  });

  it.each([
    [{ AZUREML_ENTRY_SCRIPT: '/s.js', WORKER_COUNT: '0' }, /WORKER_COUNT='0' is not an integer ≥ 1/],
    [{ AZUREML_ENTRY_SCRIPT: '/s.js', MODELPORT_PROTECT_HEALTH: 'maybe' }, /is not a boolean/],
    [{ AZUREML_ENTRY_SCRIPT: '/s.js', MODELPORT_MAX_QUEUE_DELAY_MS: '-1' }, /non-negative number/],
    [{}, /AZUREML_MODEL_DIR is not set/],
  ])('refuses %j', (env, message) => {
    expect(() => configFromEnv(env)).toThrow(message);
  });
});
