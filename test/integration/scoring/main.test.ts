import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../support/cli.js';
import { GUIDE_SAMPLE, regression10Expected } from '../../support/fixture-reference.js';
import { writeFixture } from '../../support/onnx/fixtures.js';
import { tempDir } from '../../support/tmp.js';
import { SCRIPTS } from './helpers.js';

/** The container entry, compiled, as images run it: `node dist/modules/scoring/main.js`. */
const MAIN = join(REPO_ROOT, 'dist', 'modules', 'scoring', 'main.js');
const work = tempDir('main');
afterAll(() => work.cleanup());

interface Running {
  child: ChildProcess;
  base: string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function start(env: NodeJS.ProcessEnv): Running {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      MODELPORT_PORT: '0',
      MODELPORT_HOST: '127.0.0.1',
      MODELPORT_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let port = 0;
  child.stderr.on('data', (d) => {
    stderr += d;
    port ||= Number(/"port":(\d+)/.exec(stderr)?.[1] ?? 0);
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    get base() {
      return `http://127.0.0.1:${port}`;
    },
    stderr: () => stderr,
    exit,
  };
}

async function waitReady(r: Running): Promise<void> {
  for (;;) {
    if (r.child.exitCode !== null) throw new Error(`exited: ${r.stderr()}`);
    if (r.base.endsWith(':0') === false) {
      const res = await fetch(`${r.base}/v2/health/ready`).catch(() => undefined);
      if (res?.status === 200) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('node dist/modules/scoring/main.js', () => {
  it('serves the model in AZUREML_MODEL_DIR, logs JSON, and stops cleanly on SIGTERM', async () => {
    const dir = join(work.path, 'azureml-models', 'regression10', '1');
    await writeFixture('regression10', dir);
    const r = start({
      AZUREML_MODEL_DIR: dir,
      MODELPORT_AUTH_KEYS: 'k1,k2',
      AML_CORS_ORIGINS: 'https://a.example',
    });
    try {
      await waitReady(r);
      const res = await fetch(`${r.base}/score`, {
        method: 'POST',
        headers: {
          authorization: 'Bearer k2',
          'content-type': 'application/json',
          origin: 'https://a.example',
        },
        body: JSON.stringify({ data: GUIDE_SAMPLE }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(regression10Expected(GUIDE_SAMPLE).map((v) => [v]));
      expect(res.headers.get('access-control-allow-origin')).toBe('https://a.example');
      expect((await fetch(`${r.base}/score`, { method: 'POST', body: '{}' })).status).toBe(401);
      const metrics = await fetch(`${r.base}/metrics`, { headers: { authorization: 'Bearer k1' } });
      expect(await metrics.text()).toMatch(/modelport_process_cpu_seconds_total/);
      const lines = r
        .stderr()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { msg: string });
      expect(lines.map((l) => l.msg)).toContain('scoring server listening');
    } finally {
      r.child.kill('SIGTERM');
    }
    expect(await r.exit).toBe(0);
  });

  it('runs the entry script named by AZUREML_ENTRY_SCRIPT (relative to AML_APP_ROOT), and finishes a request in flight before exiting', async () => {
    const r = start({ AML_APP_ROOT: SCRIPTS, AZUREML_ENTRY_SCRIPT: 'behaviours.mjs', WORKER_COUNT: '2' });
    await waitReady(r);
    const slow = fetch(`${r.base}/score`, { method: 'POST', body: JSON.stringify({ do: 'slow', ms: 400 }) });
    await new Promise((resolve) => setTimeout(resolve, 100));
    r.child.kill('SIGTERM');
    const res = await slow;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ slept: 400 });
    expect(await r.exit).toBe(0);
  });

  it('serves a TypeScript entry script from the compiled server', async () => {
    const r = start({ AZUREML_ENTRY_SCRIPT: join(SCRIPTS, 'sample-score.ts') });
    try {
      await waitReady(r);
      const res = await fetch(`${r.base}/score`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ data: [[1, 1, 1, 1, 1, 1, 1, 1, 1, 1]] }),
      });
      expect(await res.json()).toEqual([10]);
    } finally {
      r.child.kill('SIGTERM');
    }
    expect(await r.exit).toBe(0);
  });

  it('checks the model files against MODELPORT_EXPECTED_MODELS before serving (exit 78 on a mismatch)', async () => {
    const { digestFolder } = await import('../../../modules/scoring/integrity.js');
    const dir = join(work.path, 'integrity', 'regression10', '1');
    await writeFixture('regression10', dir);
    const { digest } = await digestFolder(dir);
    const good = start({
      AZUREML_MODEL_DIR: dir,
      MODELPORT_EXPECTED_MODELS: JSON.stringify([{ name: 'regression10', version: '1', digest }]),
    });
    try {
      await waitReady(good);
      expect(good.stderr()).toMatch(/model files match their registered digests/);
    } finally {
      good.child.kill('SIGTERM');
    }
    expect(await good.exit).toBe(0);
    const wrong = `sha256:${'0'.repeat(64)}`;
    const bad = start({
      AZUREML_MODEL_DIR: dir,
      MODELPORT_EXPECTED_MODELS: JSON.stringify([{ name: 'regression10', version: 1, digest: wrong }]),
    });
    expect(await bad.exit).toBe(78);
    expect(bad.stderr()).toMatch(
      /model integrity check failed: model 'regression10' version 1: expected sha256:0+, found sha256:/,
    );
  });

  it('exits non-zero with a message naming the model when onnxruntime cannot load it', async () => {
    const dir = join(work.path, 'bad', 'unsupported_op', '1');
    await writeFixture('unsupported_op', dir);
    const r = start({ AZUREML_MODEL_DIR: dir });
    expect(await r.exit).toBe(1);
    expect(r.stderr()).toMatch(
      /modelport scoring: model 'unsupported_op' cannot be loaded by onnxruntime: .*NoSuchOperator/,
    );
  });

  it("exits non-zero when the entry script's init() fails", async () => {
    const r = start({ AZUREML_ENTRY_SCRIPT: join(SCRIPTS, 'bad-init.mjs') });
    expect(await r.exit).toBe(1);
    expect(r.stderr()).toMatch(/bad-init\.mjs failed to start: cannot find my weights/);
  });

  it.each([
    [{}, /AZUREML_MODEL_DIR is not set/],
    [{ AZUREML_MODEL_DIR: '/no/such/dir' }, /AZUREML_MODEL_DIR \/no\/such\/dir does not exist/],
    [{ AZUREML_MODEL_DIR: '/tmp', MODELPORT_PORT: 'http' }, /MODELPORT_PORT='http' is not an integer/],
    [{ AZUREML_MODEL_DIR: '/tmp', MODELPORT_BATCHING: 'x=lots' }, /batch setting 'x=lots'/],
  ])('refuses bad configuration %j with exit code 2', async (env, message) => {
    const r = start(env as NodeJS.ProcessEnv);
    expect(await r.exit).toBe(2);
    expect(r.stderr()).toMatch(message);
  });
});
