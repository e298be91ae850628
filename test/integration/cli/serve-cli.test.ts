import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runModelport, startModelport, waitForExit } from '../../support/cli.js';
import { GUIDE_SAMPLE, regression10Expected } from '../../support/fixture-reference.js';
import { writeFixture } from '../../support/onnx/fixtures.js';
import { pythonWithRequests } from '../../support/python.js';
import { tempDir } from '../../support/tmp.js';

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
