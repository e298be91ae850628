import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runModelport, startModelport, waitForExit } from '../../support/cli.js';
import { GUIDE_SAMPLE, regression10Expected } from '../../support/fixture-reference.js';
import { writeFixture } from '../../support/onnx/fixtures.js';
import { pythonWithRequests } from '../../support/python.js';
import { tempDir } from '../../support/tmp.js';

const SCRIPTS = join(import.meta.dirname, '..', 'scoring', 'scripts');

const work = tempDir('serve-cli');
const home = join(work.path, 'home');
const env = { MODELPORT_HOME: home };

beforeAll(async () => {
  for (const name of ['regression10', 'two_input', 'unsupported_op'] as const) {
    const file = await writeFixture(name, join(work.path, 'src'));
    const r = await runModelport(['model', 'register', '--name', name, '--path', file], env);
    expect(r.code, r.stderr).toBe(0);
  }
});
afterAll(() => work.cleanup());

describe('modelport serve (the real binary)', () => {
  it("serves registered models in-process, answers the guide's Python client, and stops on SIGTERM", async () => {
    const { child, doc } = await startModelport(
      ['serve', '--model', 'regression10', '--model', 'two_input:1', '--port', '0', '--json'],
      env,
    );
    try {
      expect(doc.status).toBe(0);
      const base: string = doc.result.url;
      expect(await (await fetch(`${base}/`)).text()).toBe('Healthy');
      const out = execFileSync(
        pythonWithRequests(),
        [
          join(import.meta.dirname, '../../support/clients/azureml_sample_client.py'),
          `${base}/score?model=regression10`,
        ],
        {
          encoding: 'utf8',
        },
      );
      const [status, body] = out.trim().split('\n');
      expect(status).toBe('200');
      expect(JSON.parse(body as string)).toEqual(regression10Expected(GUIDE_SAMPLE).map((v) => [v]));
      const v2 = await fetch(`${base}/v2/models/two_input/infer`, {
        method: 'POST',
        body: JSON.stringify({
          inputs: [
            { name: 'a', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
            { name: 'b', shape: [1, 4], datatype: 'FP32', data: [1, 1, 1, 1] },
          ],
          outputs: [{ name: 'sum' }],
        }),
      });
      expect(((await v2.json()) as { outputs: unknown }).outputs).toEqual([
        { name: 'sum', datatype: 'FP32', shape: [1, 4], data: [2, 3, 4, 5] },
      ]);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await waitForExit(child)).toBe(0);
  });

  it('exits non-zero naming the model when onnxruntime cannot load it', async () => {
    const r = await runModelport(['serve', '--model', 'unsupported_op:1', '--port', '0'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/model 'unsupported_op' cannot be loaded by onnxruntime/);
    expect(r.stderr).toMatch(/NoSuchOperator/);
  });

  it('refuses an unknown model before listening', async () => {
    const r = await runModelport(['serve', '--model', 'ghost', '--json'], env);
    expect(r.code).toBe(3);
    expect(r.json().error?.code).toBe('MODEL_NOT_FOUND');
  });
});

describe('modelport serve with an entry script, auth and execution providers', () => {
  it('serves an entry script on a registered model laid out as Azure ML does, behind a key', async () => {
    const { child, doc } = await startModelport(
      [
        'serve',
        '--entry-script',
        join(SCRIPTS, 'guide-score.mjs'),
        '--model',
        'regression10',
        '--port',
        '0',
        '--auth-key',
        'k-primary',
        '--auth-key',
        'k-secondary',
        '--json',
      ],
      env,
    );
    try {
      expect(doc.result.modelDir).toBe(join(home, 'models', 'regression10', '1'));
      expect(doc.result.auth).toBe('key');
      const res = await fetch(`${doc.result.url}/score`, {
        method: 'POST',
        headers: { authorization: 'Bearer k-secondary' },
        body: JSON.stringify({ data: GUIDE_SAMPLE }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { predictions: number[]; modelDir: string };
      expect(body.predictions).toEqual(regression10Expected(GUIDE_SAMPLE));
      expect(body.modelDir).toBe(doc.result.modelDir);
      expect((await fetch(`${doc.result.url}/score`, { method: 'POST', body: '{}' })).status).toBe(401);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await waitForExit(child)).toBe(0);
  });

  it('gives a script serving several models the folder holding NAME/VERSION/', async () => {
    const { child, doc } = await startModelport(
      [
        'serve',
        '--entry-script',
        join(SCRIPTS, 'guide-score.mjs'),
        '--model',
        'regression10',
        '--model',
        'two_input',
        '--port',
        '0',
        '--json',
      ],
      env,
    );
    try {
      expect(doc.result.modelDir).toMatch(new RegExp(`^${home}/deployments/[0-9a-f]{12}$`));
      const res = await fetch(`${doc.result.url}/score`, {
        method: 'POST',
        body: JSON.stringify({ data: GUIDE_SAMPLE }),
      });
      expect(((await res.json()) as { predictions: number[] }).predictions).toEqual(
        regression10Expected(GUIDE_SAMPLE),
      );
    } finally {
      child.kill('SIGTERM');
    }
    expect(await waitForExit(child)).toBe(0);
  });

  it('serves a script alone, and accepts tokens minted by modelport token', async () => {
    const tokenEnv = { ...env, SERVE_SECRET: 'cli-token-secret' };
    const { child, doc } = await startModelport(
      [
        'serve',
        '--entry-script',
        join(SCRIPTS, 'behaviours.mjs'),
        '--token-secret-env',
        'SERVE_SECRET',
        '--port',
        '0',
        '--json',
      ],
      tokenEnv,
    );
    try {
      const minted = await runModelport(
        ['token', '--secret-env', 'SERVE_SECRET', '--ttl', '60', '--json'],
        tokenEnv,
      );
      expect(minted.code).toBe(0);
      const token: string = minted.json().result.token;
      expect(token).toMatch(/^mp1\./);
      const ok = await fetch(`${doc.result.url}/score`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: '{"do": "echo"}',
      });
      expect(await ok.json()).toEqual({ echo: { do: 'echo' } });
      const wrong = await runModelport(['token', '--secret-env', 'NO_SUCH_VAR'], tokenEnv);
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toMatch(/NO_SUCH_VAR is not set/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await waitForExit(child)).toBe(0);
  });

  it('refuses an execution provider this machine lacks, unless a fallback is given', async () => {
    const refused = await runModelport(
      ['serve', '--model', 'regression10', '--execution-provider', 'cuda', '--port', '0', '--json'],
      env,
    );
    expect(refused.code).toBe(2);
    expect(refused.json().error?.code).toBe('EXECUTION_PROVIDER_UNAVAILABLE');
    expect(refused.json().error?.message).toMatch(/cuda/);
    const { child, doc } = await startModelport(
      [
        'serve',
        '--model',
        'regression10',
        '--execution-provider',
        'cuda',
        '--ep-fallback',
        'cpu',
        '--max-batch-size',
        '8',
        '--port',
        '0',
        '--json',
      ],
      env,
    );
    try {
      const meta = (await (await fetch(`${doc.result.url}/v2/models/regression10`)).json()) as {
        parameters: Record<string, unknown>;
      };
      expect(meta.parameters).toMatchObject({ execution_providers: ['cpu'], max_batch_size: 8 });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await waitForExit(child)).toBe(0);
  });

  it('needs a model or an entry script, and a valid batch setting', async () => {
    const none = await runModelport(['serve', '--json'], env);
    expect(none.code).toBe(2);
    expect(none.json().error?.code).toBe('MODEL_REQUIRED');
    const bad = await runModelport(
      ['serve', '--model', 'regression10', '--batch', 'regression10=many', '--json'],
      env,
    );
    expect(bad.code).toBe(2);
    expect(bad.json().error?.code).toBe('BATCH_SETTING_INVALID');
  });
});
