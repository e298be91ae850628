import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBaseImage } from '../../support/engine/base-image.js';
import { requireEngine } from '../../support/engine/docker-host.js';
import {
  dockerClient,
  engineInfo,
  ensureArm64Base,
  freePort,
  removeByLabel,
  runContainer,
  runOnce,
} from '../../support/engine/helpers.js';

const RUN_ID = randomBytes(4).toString('hex');
const LABEL_KEY = 'modelport.test.suite';
const LABEL = `${LABEL_KEY}=engine-${RUN_ID}`;
const labels = { [LABEL_KEY]: `engine-${RUN_ID}` };

afterAll(async () => {
  await removeByLabel(LABEL);
});

describe('docker engine harness', () => {
  it('provides an engine that answers, and exports it as DOCKER_HOST for code under test', async () => {
    const info = engineInfo();
    expect(process.env.DOCKER_HOST).toBe(info.dockerHost);
    expect(process.env.MODELPORT_TEST_REGISTRY).toBe(info.registry);
    expect(info.registry).toMatch(/^127\.0\.0\.1:\d+$/);
    const version = await dockerClient().version();
    expect(version.Os).toBe('linux');
    expect(await requireEngine(info.dockerHost)).toBe(version.Version);
  });

  it('reuses the base image when its inputs are unchanged', async () => {
    const info = engineInfo();
    const docker = dockerClient();
    const before = await docker.getImage(info.baseImage).inspect();
    const again = await ensureBaseImage(docker, { cacheDir: info.cacheDir, allowInstall: info.allowInstall });
    expect(again.built).toBe(false);
    expect(again.id).toBe(before.Id);
    expect(before.Architecture).toBe('amd64');
  });

  it('runs a node HTTP server from the base image on the host network, on a free port', async () => {
    const info = engineInfo();
    const port = await freePort();
    const server = [
      "const os = require('os');",
      "require('http').createServer((req, res) => res.end(JSON.stringify({",
      '  path: req.url, arch: process.arch, version: process.version, user: os.userInfo().username,',
      "}))).listen(Number(process.env.MODELPORT_PORT), '127.0.0.1');",
    ].join('\n');
    const container = await runContainer({
      image: info.baseImage,
      cmd: ['node', '-e', server],
      port,
      user: 'modelport',
      labels,
    });
    try {
      const answer = await container.waitForHttp('/hello', 30_000);
      expect(JSON.parse(answer.body)).toEqual({
        path: '/hello',
        arch: 'x64',
        version: `v${info.nodeVersion}`,
        user: 'modelport',
      });
    } finally {
      await container.remove();
    }
  });

  it('builds on the base with RUN steps, pushes to the loopback registry and pulls it back', async () => {
    const info = engineInfo();
    const docker = dockerClient();
    const name = `${info.registry}/modelport-test/smoke:${RUN_ID}`;
    await build(docker, name, [
      `FROM ${info.baseImage}`,
      `RUN mkdir /app && echo "pulled ${RUN_ID}" > /app/message && chown -R node:node /app`,
      'USER node',
      `CMD ["node", "-p", "require('fs').readFileSync('/app/message', 'utf8').trim() + ' as ' + require('os').userInfo().username"]`,
    ]);
    await follow(docker, await docker.getImage(name).push({ authconfig: {} }));
    await docker.getImage(name).remove();
    await expect(docker.getImage(name).inspect()).rejects.toMatchObject({ statusCode: 404 });

    await follow(docker, await docker.pull(name));
    const run = await runOnce({ image: name, labels });
    expect(run.exitCode).toBe(0);
    expect(run.stdout.trim()).toBe(`pulled ${RUN_ID} as node`);
  });

  it('builds the arm64 base on demand and runs arm64 node in it under qemu', async () => {
    const arm = await ensureArm64Base();
    const docker = dockerClient();
    expect((await docker.getImage(arm.tag).inspect()).Architecture).toBe('arm64');
    const run = await runOnce({
      image: arm.tag,
      cmd: ['node', '-p', "process.arch + ' ' + require('fs').readdirSync('/sys/devices/system/cpu').length"],
      maskCpuInfo: true,
      labels,
    });
    expect(run.stderr).toBe('');
    // arm64 node, and onnxruntime's cpuinfo would find nothing to read under the mask.
    expect(run.stdout.trim()).toBe('arm64 0');
    expect(run.exitCode).toBe(0);
  });

  it('removes containers and images by label', async () => {
    const info = engineInfo();
    const docker = dockerClient();
    const own = { 'modelport.test.cleanup': RUN_ID };
    const container = await runContainer({ image: info.baseImage, cmd: ['sleep', '60'], labels: own });
    await build(docker, `modelport-test/cleanup:${RUN_ID}`, [
      `FROM ${info.baseImage}`,
      `LABEL modelport.test.cleanup=${RUN_ID}`,
    ]);
    const removed = await removeByLabel(`modelport.test.cleanup=${RUN_ID}`);
    // The tagged image and the intermediate one its LABEL step made both carry the label.
    expect(removed.containers).toBe(1);
    expect(removed.images).toBe(2);
    const left = await docker.listImages({
      all: true,
      filters: { label: [`modelport.test.cleanup=${RUN_ID}`] },
    });
    expect(left).toEqual([]);
    await expect(container.container.inspect()).rejects.toMatchObject({ statusCode: 404 });
    await expect(docker.getImage(`modelport-test/cleanup:${RUN_ID}`).inspect()).rejects.toMatchObject({
      statusCode: 404,
    });
    // The base image carries no such label and stays.
    expect((await docker.getImage(info.baseImage).inspect()).Id).toMatch(/^sha256:/);
  });
});

/** Builds a one-file context (just the Dockerfile) with the test labels. */
async function build(docker: Docker, tag: string, dockerfile: string[]): Promise<void> {
  const context = tar.pack();
  context.entry({ name: 'Dockerfile' }, `${dockerfile.join('\n')}\n`);
  context.finalize();
  const stream = await docker.buildImage(Readable.from(context), { t: tag, labels, rm: true, forcerm: true });
  await follow(docker, stream);
}

/** Waits for a build/push/pull progress stream; an `error` event in it fails the test with its text. */
async function follow(docker: Docker, stream: NodeJS.ReadableStream): Promise<void> {
  const events = await new Promise<unknown[]>((resolve, reject) => {
    docker.modem.followProgress(stream, (err, res) => (err ? reject(err) : resolve(res)));
  });
  const failure = events.find((e) => typeof (e as { error?: unknown }).error === 'string');
  expect(failure).toBeUndefined();
}
