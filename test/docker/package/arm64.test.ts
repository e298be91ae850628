import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dockerClient,
  engineInfo,
  ensureArm64Base,
  freePort,
  runContainer,
} from '../../support/engine/helpers.js';
import { GUIDE_SAMPLE, regression10Expected } from '../../support/fixture-reference.js';
import { tempDir } from '../../support/tmp.js';
import {
  imageFiles,
  postJson,
  RUN_ID,
  registerFixtures,
  registryTags,
  removeImages,
  runPackage,
} from './helpers.js';

const work = tempDir('package-arm64');
const docker = dockerClient();
let env: NodeJS.ProcessEnv;
let image: string;

beforeAll(async () => {
  env = await registerFixtures(join(work.path, 'home'), ['regression10']);
  await ensureArm64Base();
});
afterAll(async () => {
  await removeImages(docker, [image]);
  work.cleanup();
});

describe('modelport package --platform linux/arm64 (Dockerfile.arm64, run under qemu-user-static)', () => {
  it('builds an arm64 image with the arm64 onnxruntime binaries only, which scores correctly', async () => {
    const info = engineInfo();
    const repository = `modelport-arm64-${RUN_ID}/regression10`;
    image = `${info.registry}/${repository}:1-arm64`;
    const r = await runPackage(
      [
        '--model',
        'regression10:1',
        '--image',
        image,
        '--platform',
        'linux/arm64',
        '--base-image',
        info.arm64BaseImage,
        '--push',
      ],
      env,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const result = r.json().result;
    expect(result).toMatchObject({ platform: 'linux/arm64', pushed: true });
    console.log(
      `arm64 module image ${image}: ${(result.sizeBytes / 1e6).toFixed(1)} MB (base ${info.arm64BaseImage})`,
    );
    expect(await registryTags(info.registry, repository)).toEqual(['1-arm64']);

    const inspect = await docker.getImage(image).inspect();
    expect(inspect.Architecture).toBe('arm64');
    expect(inspect.Config.Labels['com.modelport.platform']).toBe('linux/arm64');
    const files = await imageFiles(docker, image, '/var/azureml-app/node_modules/');
    const native = [...files.keys()].filter((p) => /\.(node|so(\.\d+)*)$/.test(p)).sort();
    expect(native).toEqual([
      '/var/azureml-app/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime.so.1',
      '/var/azureml-app/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node',
    ]);

    // ONNX Runtime's cpuinfo crashes under qemu when it reads the host's CPU folder: mask it (test only).
    const port = await freePort();
    const run = await runContainer({ image, port, platform: 'linux/arm64', maskCpuInfo: true });
    try {
      expect((await run.waitForHttp('/', 120_000)).body).toBe('Healthy');
      await run.waitForHttp('/v2/health/ready', 180_000);
      const arch = await run.container.exec({ Cmd: ['node', '-p', 'process.arch'], AttachStdout: true });
      const stream = await arch.start({});
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).toString('utf8')).toContain('arm64');
      const scored = await postJson(`${run.url}/score`, { data: GUIDE_SAMPLE });
      expect(scored.status).toBe(200);
      const expected = regression10Expected(GUIDE_SAMPLE);
      for (const [i, row] of (scored.body as number[][]).entries()) {
        expect(row[0]).toBeCloseTo(expected[i] ?? Number.NaN, 4);
      }
    } finally {
      await run.remove();
    }
  });
});
