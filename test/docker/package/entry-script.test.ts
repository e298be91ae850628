import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runModelport } from '../../support/cli.js';
import { dockerClient, engineInfo, freePort, runContainer } from '../../support/engine/helpers.js';
import { GUIDE_SAMPLE, regression10Expected } from '../../support/fixture-reference.js';
import { writeFixture } from '../../support/onnx/fixtures.js';
import { tempDir } from '../../support/tmp.js';
import {
  imageFiles,
  postJson,
  RUN_ID,
  registerFixtures,
  removeImages,
  runPackage,
  writeFiles,
} from './helpers.js';

const work = tempDir('package-entry');
const docker = dockerClient();
const image = `modelport-entry-${RUN_ID}/two-models:1`;
/** A folder model whose folder and file names need quoting in a Dockerfile. */
const ODD_FOLDER = 'my "odd" $model';
let env: NodeJS.ProcessEnv;

// A TypeScript entry script in the guide's shape: init() loads the model, run() scores the raw body.
// It imports a helper by relative path (bundled at package time), the server's script API and
// onnxruntime-node (both resolved inside the image).
const SCRIPT = {
  'score.ts': [
    "import * as ort from 'onnxruntime-node';",
    "import { getModelPath } from 'modelport/scoring';",
    "import { rounded } from './lib/rounded.js';",
    'let session: ort.InferenceSession;',
    'export async function init(): Promise<void> {',
    "  session = await ort.InferenceSession.create(getModelPath('regression10'));",
    '}',
    'export async function run(raw: string): Promise<unknown> {',
    '  const rows = (JSON.parse(raw) as { data: number[][] }).data;',
    "  const x = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 10]);",
    '  const y = (await session.run({ x })).y;',
    '  return { predictions: Array.from(y?.data as Float32Array, rounded), modelDir: process.env.AZUREML_MODEL_DIR };',
    '}',
  ].join('\n'),
  'lib/rounded.ts': 'export const rounded = (v: number): number => Math.round(v * 1000) / 1000;\n',
};

beforeAll(async () => {
  env = await registerFixtures(join(work.path, 'home'), ['regression10']);
  const folder = join(work.path, 'odd', ODD_FOLDER);
  mkdirSync(folder, { recursive: true });
  await writeFixture('two_input', folder);
  const r = await runModelport(['model', 'register', '--name', 'pair', '--path', folder, '--json'], env);
  expect(r.code, r.stderr).toBe(0);
  expect(r.json().result.onnx.file).toBe(`${ODD_FOLDER}/two_input.onnx`);
  writeFiles(join(work.path, 'script'), SCRIPT);
});
afterAll(async () => {
  await removeImages(docker, [image]);
  work.cleanup();
});

describe('an image with two models and a TypeScript entry script', () => {
  it('serves /score through the compiled script and both models on /v2, laid out as Azure ML does', async () => {
    const r = await runPackage(
      [
        '--model',
        'regression10:1',
        'pair:1',
        '--image',
        image,
        '--base-image',
        engineInfo().baseImage,
        '--entry-script',
        join(work.path, 'script', 'score.ts'),
      ],
      env,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json().result.env).toEqual({
      AZUREML_MODEL_DIR: '/var/azureml-app/azureml-models',
      MODELPORT_MODELS: JSON.stringify([
        { name: 'regression10', version: '1', file: 'regression10.onnx' },
        { name: 'pair', version: '1', file: `${ODD_FOLDER}/two_input.onnx` },
      ]),
      AZUREML_ENTRY_SCRIPT: '/var/azureml-app/score.mjs',
    });

    const files = [...(await imageFiles(docker, image, '/var/azureml-app/')).keys()];
    expect(files).toContain('/var/azureml-app/score.mjs');
    expect(files).toContain('/var/azureml-app/azureml-models/regression10/1/regression10.onnx');
    expect(files).toContain(`/var/azureml-app/azureml-models/pair/1/${ODD_FOLDER}/two_input.onnx`);
    expect(files.filter((f) => f.includes('/lib/rounded') || f.endsWith('.ts'))).toEqual([]);
    expect(files.filter((f) => /node_modules\/(tsx|esbuild)\//.test(f))).toEqual([]);

    const port = await freePort();
    // MODELPORT_V2_MODELS: with an entry script the server loads the models for /v2 only when asked.
    const run = await runContainer({ image, port, env: { MODELPORT_V2_MODELS: '1' } });
    try {
      await run.waitForHttp('/v2/health/ready', 60_000);
      const scored = await postJson(`${run.url}/score`, { data: GUIDE_SAMPLE });
      expect(scored.status).toBe(200);
      const body = scored.body as { predictions: number[]; modelDir: string };
      expect(body.modelDir).toBe('/var/azureml-app/azureml-models');
      const expected = regression10Expected(GUIDE_SAMPLE);
      for (const [i, p] of body.predictions.entries()) expect(p).toBeCloseTo(expected[i] ?? Number.NaN, 2);

      const pair = await postJson(`${run.url}/v2/models/pair/infer`, {
        inputs: [
          { name: 'a', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
          { name: 'b', shape: [1, 4], datatype: 'FP32', data: [2, 2, 2, 2] },
        ],
        outputs: [{ name: 'product' }],
      });
      expect(pair.status).toBe(200);
      expect((pair.body as { outputs: { data: number[] }[] }).outputs[0]?.data).toEqual([2, 4, 6, 8]);
    } finally {
      await run.remove();
    }
  });
});
