import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runModelport } from '../../support/cli.js';
import { dockerClient, engineInfo, freePort, HARNESS_LABEL } from '../../support/engine/helpers.js';
import { tempDir } from '../../support/tmp.js';
import { type AuthRegistry, startAuthRegistry } from './auth-registry.js';
import { imageExists, RUN_ID, registerFixtures, registryTags, removeImages, runPackage } from './helpers.js';

const work = tempDir('package-bad');
const docker = dockerClient();
const names: string[] = [];
let env: NodeJS.ProcessEnv;
let auth: AuthRegistry;
/** A base image whose ONBUILD trigger fails with output, so the module build fails in a step. */
const brokenBase = `modelport-bad-${RUN_ID}/broken-base:1`;

beforeAll(async () => {
  env = await registerFixtures(join(work.path, 'home'), ['regression10']);
  writeFileSync(join(work.path, 'notes.txt'), 'not a model graph\n');
  const r = await runModelport(
    ['model', 'register', '--name', 'notes', '--path', join(work.path, 'notes.txt'), '--json'],
    env,
  );
  expect(r.code, r.stderr).toBe(0);
  auth = await startAuthRegistry(join(work.path, 'auth-registry'));
  const pack = tar.pack();
  pack.entry(
    { name: 'Dockerfile' },
    `FROM ${engineInfo().baseImage}\nONBUILD RUN echo "cannot extend: /opt/model-runtime is missing" && exit 3\n`,
  );
  pack.finalize();
  const stream = await docker.buildImage(Readable.from(pack), {
    t: brokenBase,
    labels: { [HARNESS_LABEL]: 'true' },
  });
  await new Promise((resolve, reject) =>
    docker.modem.followProgress(stream, (e) => (e ? reject(e) : resolve(undefined))),
  );
  names.push(brokenBase);
});
afterAll(async () => {
  await removeImages(docker, names);
  await auth?.stop();
  work.cleanup();
});

/** Runs a package command that must fail; returns the JSON error. */
async function failing(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const r = await runPackage(args, { ...env, ...extraEnv });
  const doc = r.json();
  expect(doc.status, r.stdout).not.toBe(0);
  expect(r.code).toBe(doc.status);
  return { code: r.code, error: doc.error as { code: string; message: string; hint?: string }, run: r };
}

/** The requested tag is neither local nor in the registry. */
async function expectNoImage(image: string, registry?: string, repository?: string, creds?: string) {
  expect(await imageExists(docker, image)).toBe(false);
  if (registry !== undefined && repository !== undefined) {
    expect(await registryTags(registry, repository, creds)).not.toContain(
      image.slice(image.lastIndexOf(':') + 1),
    );
  }
}

describe('modelport package refuses bad input with a clear message and no image', () => {
  it('an unknown model or version (exit 3)', async () => {
    const base = engineInfo().baseImage;
    const image = `modelport-bad-${RUN_ID}/unknown:1`;
    const noModel = await failing(['--model', 'nosuch:1', '--image', image, '--base-image', base]);
    expect(noModel.code).toBe(3);
    expect(noModel.error).toMatchObject({
      code: 'MODEL_NOT_FOUND',
      message: "no model named 'nosuch' is registered",
    });
    const noVersion = await failing(['--model', 'regression10:9', '--image', image, '--base-image', base]);
    expect(noVersion.code).toBe(3);
    expect(noVersion.error.message).toBe('model regression10:9 is not registered (versions: 1)');
    await expectNoImage(image);
  });

  it('a model without an ONNX graph and no entry script (exit 2)', async () => {
    const image = `modelport-bad-${RUN_ID}/notes:1`;
    const r = await failing(['--model', 'notes:1', '--image', image, '--base-image', engineInfo().baseImage]);
    expect(r.code).toBe(2);
    expect(r.error.code).toBe('MODEL_NOT_ONNX');
    expect(r.error.hint).toContain('--entry-script');
    await expectNoImage(image);
  });

  it('a missing base image: named, with how to supply it (exit 3)', async () => {
    const image = `modelport-bad-${RUN_ID}/nobase:1`;
    const missing = `modelport-bad-${RUN_ID}/no-such-base:20`;
    const r = await failing(['--model', 'regression10:1', '--image', image, '--base-image', missing]);
    expect(r.code).toBe(3);
    expect(r.error.code).toBe('BASE_IMAGE_NOT_FOUND');
    expect(r.error.message).toContain(missing);
    expect(r.error.hint).toContain('--base-image');
    expect(r.error.hint).toContain('--pull');
    await expectNoImage(image);
  });

  it('a base image for another CPU (exit 2)', async () => {
    const image = `modelport-bad-${RUN_ID}/arch:1`;
    const r = await failing([
      '--model',
      'regression10:1',
      '--image',
      image,
      '--platform',
      'linux/arm64',
      '--base-image',
      engineInfo().baseImage,
    ]);
    expect(r.code).toBe(2);
    expect(r.error).toMatchObject({ code: 'BASE_IMAGE_PLATFORM_MISMATCH' });
    expect(r.error.message).toContain('linux/amd64, but the image is for linux/arm64');
    await expectNoImage(image);
  });

  it('pulls a base image only when asked (--pull), from the registry named in it', async () => {
    const info = engineInfo();
    const remoteBase = `${info.registry}/modelport-bad-${RUN_ID}/base:20`;
    const image = `modelport-bad-${RUN_ID}/pulled:1`;
    names.push(image, remoteBase);
    await docker
      .getImage(info.baseImage)
      .tag({ repo: remoteBase.slice(0, remoteBase.lastIndexOf(':')), tag: '20' });
    // dockerd 20.10 wants an X-Registry-Auth header even for anonymous pushes.
    const push = await docker.getImage(remoteBase).push({ authconfig: {} });
    await new Promise((resolve, reject) =>
      docker.modem.followProgress(push, (e) => (e ? reject(e) : resolve(undefined))),
    );
    await docker.getImage(remoteBase).remove({ noprune: true });

    const unasked = await failing([
      '--model',
      'regression10:1',
      '--image',
      image,
      '--base-image',
      remoteBase,
    ]);
    expect(unasked.error.code).toBe('BASE_IMAGE_NOT_FOUND');
    const absent = await failing([
      '--model',
      'regression10:1',
      '--image',
      image,
      '--base-image',
      `${info.registry}/modelport-bad-${RUN_ID}/base:nope`,
      '--pull',
    ]);
    expect(absent.code).toBe(3);
    expect(absent.error.code).toBe('BASE_IMAGE_NOT_FOUND');
    await expectNoImage(image);

    const asked = await runPackage(
      ['--model', 'regression10:1', '--image', image, '--base-image', remoteBase, '--pull'],
      env,
    );
    expect(asked.code, asked.stdout).toBe(0);
    expect(await imageExists(docker, remoteBase)).toBe(true);
    expect(await imageExists(docker, image)).toBe(true);
  });

  it('an unreachable registry: named, nothing tagged (exit 5)', async () => {
    const closed = `127.0.0.1:${await freePort()}`;
    const image = `${closed}/modelport-bad-${RUN_ID}/unreachable:1`;
    const r = await failing([
      '--model',
      'regression10:1',
      '--image',
      image,
      '--base-image',
      engineInfo().baseImage,
      '--push',
    ]);
    expect(r.code).toBe(5);
    expect(r.error.code).toBe('REGISTRY_UNREACHABLE');
    expect(r.error.message).toContain(`the registry ${closed} is not reachable`);
    await expectNoImage(image);
  });

  it('a push the registry rejects (auth): no tag there or here, an earlier local tag restored (exit 5)', async () => {
    const repository = `modelport-bad-${RUN_ID}/auth`;
    const image = `${auth.address}/${repository}:1`;
    const creds = `${auth.username}:${auth.password}`;
    const base = engineInfo().baseImage;

    const anonymous = await failing([
      '--model',
      'regression10:1',
      '--image',
      image,
      '--base-image',
      base,
      '--push',
    ]);
    expect(anonymous.code).toBe(5);
    expect(anonymous.error.code).toBe('REGISTRY_AUTH_FAILED');
    expect(anonymous.error.message).toContain(`the registry ${auth.address} refused to push ${image}`);
    expect(anonymous.error.hint).toContain('--registry-username');
    await expectNoImage(image, auth.address, repository, creds);

    // An image already carried the requested name here: a failed push leaves it as it was.
    await docker.getImage(base).tag({ repo: `${auth.address}/${repository}`, tag: '1' });
    names.push(image);
    const before = (await docker.getImage(image).inspect()).Id;
    const wrong = await failing(
      [
        '--model',
        'regression10:1',
        '--image',
        image,
        '--base-image',
        base,
        '--push',
        '--registry-username',
        auth.username,
        '--registry-password-env',
        'EDGE_REGISTRY_PASSWORD',
      ],
      { EDGE_REGISTRY_PASSWORD: 'not-the-password' },
    );
    expect(wrong.code).toBe(5);
    expect(wrong.error.code).toBe('REGISTRY_AUTH_FAILED');
    expect(wrong.error.hint).toContain('--registry-password-env');
    expect(wrong.run.stdout).not.toContain('not-the-password');
    expect((await docker.getImage(image).inspect()).Id).toBe(before);
    expect(await registryTags(auth.address, repository, creds)).toEqual([]);
  });

  it('a failing build: the step and its output shown, nothing tagged or pushed (exit 1)', async () => {
    const info = engineInfo();
    const repository = `modelport-bad-${RUN_ID}/broken`;
    const image = `${info.registry}/${repository}:1`;
    const r = await failing([
      '--model',
      'regression10:1',
      '--image',
      image,
      '--base-image',
      brokenBase,
      '--push',
    ]);
    expect(r.code).toBe(1);
    expect(r.error.code).toBe('BUILD_FAILED');
    expect(r.error.message).toMatch(
      /the image build failed at step 2\/\d+ \(FROM \$\{BASE_IMAGE\}\): .*returned a non-zero code: 3/,
    );
    expect(r.error.message).toContain('| cannot extend: /opt/model-runtime is missing');
    await expectNoImage(image, info.registry, repository);

    // Without --json the same failure reads as text on stderr, with the step's output.
    const human = await runModelport(
      ['package', '--model', 'regression10:1', '--image', image, '--base-image', brokenBase],
      env,
    );
    expect(human.code).toBe(1);
    expect(human.stdout).toBe('');
    expect(human.stderr).toContain('error: the image build failed at step 2/');
    expect(human.stderr).toContain('cannot extend: /opt/model-runtime is missing');
    expect(human.stderr).toContain('Step 2/'); // progress lines, since stderr is not a terminal
  });

  it('a Docker engine that does not answer: names DOCKER_HOST (exit 5)', async () => {
    const socket = join(work.path, 'no-engine.sock');
    const image = `modelport-bad-${RUN_ID}/noengine:1`;
    const r = await failing(
      ['--model', 'regression10:1', '--image', image, '--base-image', engineInfo().baseImage],
      {
        DOCKER_HOST: `unix://${socket}`,
      },
    );
    expect(r.code).toBe(5);
    expect(r.error.code).toBe('DOCKER_UNREACHABLE');
    expect(r.error.message).toContain(`DOCKER_HOST=unix://${socket}`);
    expect(r.error.hint).toContain('DOCKER_HOST');
    await expectNoImage(image);
  });

  it.each([
    [['--platform', 'windows/amd64'], 'PLATFORM_UNSUPPORTED'],
    [['--image', 'Bad Name:1'], 'IMAGE_REF_INVALID'],
    [['--output-dir', '/tmp/x', '--push'], 'OPTIONS_CONFLICT'],
    [['--registry-username', 'u'], 'REGISTRY_CREDENTIALS_INCOMPLETE'],
    [
      ['--registry-username', 'u', '--registry-password-env', 'MODELPORT_TEST_UNSET_VAR'],
      'REGISTRY_PASSWORD_MISSING',
    ],
    [['--model', 'regression10:1'], 'MODEL_DUPLICATE'],
    [['--entry-script', 'score.py'], 'ENTRY_SCRIPT_UNSUPPORTED'],
  ])('usage error %j (exit 2)', async (extra, code) => {
    const image = extra.includes('--image') ? [] : ['--image', `modelport-bad-${RUN_ID}/usage:1`];
    const r = await failing([
      '--model',
      'regression10:1',
      ...image,
      '--base-image',
      engineInfo().baseImage,
      ...extra,
    ]);
    expect(r.code).toBe(2);
    expect(r.error.code).toBe(code);
    if (code === 'REGISTRY_PASSWORD_MISSING') expect(r.error.message).toContain('MODELPORT_TEST_UNSET_VAR');
  });
});
