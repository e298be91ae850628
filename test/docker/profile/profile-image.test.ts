import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILE_LABEL } from '../../../cloud/profile/image-target.js';
import { BYTES_PER_GB, CPU_STEPS, MEMORY_STEPS_GB } from '../../../cloud/profile/recommend.js';
import { registerFixtures } from '../../integration/batch/helpers.js';
import { runModelport } from '../../support/cli.js';
import { dockerClient, engineInfo } from '../../support/engine/helpers.js';
import { GUIDE_SAMPLE } from '../../support/fixture-reference.js';
import { tempDir } from '../../support/tmp.js';
import { RUN_ID, removeImages } from '../package/helpers.js';

const work = tempDir('profile-image');
const docker = dockerClient();
const image = `modelport-profile-${RUN_ID}/regression10:1`;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  env = await registerFixtures(join(work.path, 'home'), ['regression10']);
  writeFileSync(join(work.path, 'sample.json'), JSON.stringify({ data: GUIDE_SAMPLE }));
  const r = await runModelport(
    [
      'package',
      '--model',
      'regression10:1',
      '--image',
      image,
      '--base-image',
      engineInfo().baseImage,
      '--json',
    ],
    env,
  );
  expect(r.code, r.stdout + r.stderr).toBe(0);
});
afterAll(async () => {
  await removeImages(docker, [image]);
  work.cleanup();
});

describe('modelport model profile --image (the packaged image in a container)', () => {
  it('profiles the image under Docker CPU and memory limits and leaves no container behind', async () => {
    const r = await runModelport(
      [
        'model',
        'profile',
        'regression10:1',
        '--sample',
        join(work.path, 'sample.json'),
        '--image',
        image,
        '--cpus',
        '0.5',
        '--memory',
        '512m',
        '--concurrency',
        '1,2',
        '--duration',
        '1',
        '--json',
      ],
      env,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const doc = r.json().result;
    expect(doc.server).toMatchObject({
      mode: 'image',
      image,
      cpus: 0.5,
      cpuLimit: 'Docker NanoCpus 500000000',
      memoryLimitBytes: 512 * 1024 ** 2,
    });
    expect(doc.steps.map((s: { concurrency: number }) => s.concurrency)).toEqual([1, 2]);
    for (const s of doc.steps) {
      expect(s.errors).toBe(0);
      expect(s.requests).toBeGreaterThan(0);
      expect(s.cpuCores).toBeGreaterThan(0);
      // The CFS quota holds the container to half a core (one 100 ms period of slack over a 1 s step).
      expect(s.cpuCores).toBeLessThan(0.7);
      expect(s.peakRssBytes).toBeGreaterThan(10 * 1024 ** 2);
      expect(s.peakRssBytes).toBeLessThan(512 * 1024 ** 2);
    }
    expect(CPU_STEPS).toContain(doc.recommendation.cpu);
    expect(MEMORY_STEPS_GB).toContain(doc.recommendation.memoryInGB);
    expect(doc.recommendation.memoryInGB * BYTES_PER_GB).toBeGreaterThanOrEqual(doc.server.peakRssBytes);
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${PROFILE_LABEL}=true`], ancestor: [image] },
    });
    expect(left).toEqual([]);
  });

  it('refuses an image the engine does not have and cannot pull (exit 3)', async () => {
    const r = await runModelport(
      [
        'model',
        'profile',
        'regression10:1',
        '--sample',
        join(work.path, 'sample.json'),
        '--image',
        `127.0.0.1:1/none-${RUN_ID}:1`,
        '--json',
      ],
      env,
    );
    expect(r.code).toBe(3);
    expect(r.json().error?.code).toBe('IMAGE_NOT_FOUND');
  });
});
