import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PackagedImages } from '../../../cloud/registry/packaged-images.js';
import { dockerClient, engineInfo, freePort, runContainer, runOnce } from '../../support/engine/helpers.js';
import { GUIDE_SAMPLE, regression10Expected } from '../../support/fixture-reference.js';
import { pythonWithRequests } from '../../support/python.js';
import { tempDir } from '../../support/tmp.js';
import {
  imageExists,
  postJson,
  RUN_ID,
  registerFixtures,
  registryTags,
  removeImages,
  runPackage,
} from './helpers.js';

const work = tempDir('package-e2e');
const docker = dockerClient();
const created: string[] = [];
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  env = await registerFixtures(join(work.path, 'home'), ['regression10']);
});
afterAll(async () => {
  await removeImages(docker, created);
  work.cleanup();
});

describe('modelport package: register → package --push → pull → run → score', () => {
  it('serves the registered model from the pushed image, to the guide client too', async () => {
    const info = engineInfo();
    const repository = `modelport-e2e-${RUN_ID}/regression10`;
    const image = `${info.registry}/${repository}:1`;
    created.push(image);

    const r = await runPackage(
      ['--model', 'regression10:1', '--image', image, '--base-image', info.baseImage, '--push'],
      env,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const result = r.json().result;
    expect(result).toMatchObject({ image, platform: 'linux/amd64', pushed: true });
    expect(result.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(result.repoDigest).toBe(`${info.registry}/${repository}@${result.digest}`);
    // Nothing but the JSON document on stdout, no progress output under --json.
    expect(r.stderr).toBe('');
    console.log(
      `module image ${image}: ${(result.sizeBytes / 1e6).toFixed(1)} MB (base ${info.baseImage}; ` +
        `context ${(result.context.bytes / 1e6).toFixed(1)} MB, node_modules ${(result.context.parts.node_modules.bytes / 1e6).toFixed(1)} MB, ` +
        `pruned ${(Object.values(result.context.pruned as Record<string, { bytes: number }>).reduce((s, p) => s + p.bytes, 0) / 1e6).toFixed(1)} MB)`,
    );
    expect(await registryTags(info.registry, repository)).toEqual(['1']);

    // The registry remembers which image holds these model versions (for manifest generation).
    const packaged = PackagedImages.open(env.MODELPORT_HOME as string);
    try {
      const found = packaged.findForModels([{ name: 'regression10', version: 1 }]);
      expect(found.map((p) => [p.image, p.digest, p.platform])).toEqual([
        [image, result.digest, 'linux/amd64'],
      ]);
    } finally {
      packaged.close();
    }

    await docker.getImage(image).remove({ noprune: true }); // parents: cache a parallel build may use
    expect(await imageExists(docker, image)).toBe(false);
    const pull = await docker.pull(image);
    await new Promise((resolve, reject) =>
      docker.modem.followProgress(pull, (e) => (e ? reject(e) : resolve(undefined))),
    );
    expect((await docker.getImage(image).inspect()).RepoDigests).toContain(result.repoDigest);

    const port = await freePort();
    const run = await runContainer({ image, port });
    try {
      expect((await run.waitForHttp('/', 30_000)).body).toBe('Healthy');
      await run.waitForHttp('/v2/health/ready', 60_000);
      const scored = await postJson(`${run.url}/score`, { data: GUIDE_SAMPLE });
      expect(scored.status).toBe(200);
      const expected = regression10Expected(GUIDE_SAMPLE);
      const rows = scored.body as number[][];
      expect(rows).toHaveLength(expected.length);
      for (const [i, row] of rows.entries()) expect(row[0]).toBeCloseTo(expected[i] ?? Number.NaN, 4);

      const client = execFileSync(
        pythonWithRequests(),
        [join(import.meta.dirname, '../../support/clients/azureml_sample_client.py'), `${run.url}/score`],
        { encoding: 'utf8' },
      );
      const [status, body] = client.trim().split('\n');
      expect(status).toBe('200');
      expect(JSON.parse(body ?? '')).toEqual(rows);
    } finally {
      await run.remove();
    }
  });

  it('runs as a non-root user that cannot change the app or the models', async () => {
    const info = engineInfo();
    const image = `modelport-e2e-${RUN_ID}/user:1`;
    created.push(image);
    const r = await runPackage(
      ['--model', 'regression10:1', '--image', image, '--base-image', info.baseImage],
      env,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const probe = [
      "const fs = require('fs');",
      "const tryWrite = (p) => { try { fs.writeFileSync(p, 'x'); return 'written'; } catch (e) { return e.code; } };",
      'console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(),',
      "  app: tryWrite('/var/azureml-app/modules/scoring/x.js'),",
      "  model: tryWrite(process.env.AZUREML_MODEL_DIR + '/regression10.onnx') }));",
    ].join('\n');
    const out = await runOnce({ image, cmd: ['node', '-e', probe] });
    expect(out.exitCode, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ uid: 1000, gid: 1000, app: 'EACCES', model: 'EACCES' });
  });
});
