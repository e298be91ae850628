import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runModelport } from '../../support/cli.js';
import { dockerClient, engineInfo } from '../../support/engine/helpers.js';
import { tempDir } from '../../support/tmp.js';
import { type AuthRegistry, startAuthRegistry } from './auth-registry.js';
import { RUN_ID, registerFixtures, registryTags, removeImages, savedImage } from './helpers.js';

const work = tempDir('package-creds');
const docker = dockerClient();
let env: NodeJS.ProcessEnv;
let auth: AuthRegistry;
const repository = `modelport-creds-${RUN_ID}/regression10`;
let image: string;
/** Images to remove afterwards (a rebuild over a tag leaves the first image untagged). */
const built: string[] = [];

beforeAll(async () => {
  env = await registerFixtures(join(work.path, 'home'), ['regression10']);
  auth = await startAuthRegistry(join(work.path, 'auth-registry'));
  image = `${auth.address}/${repository}:1`;
});
afterAll(async () => {
  await removeImages(docker, [image, `${auth?.address}/${repository}:login`, ...built]);
  await auth?.stop();
  work.cleanup();
});

/** The forms a password could leak in: as is, URL-encoded, base64 (as in X-Registry-Auth), JSON-escaped. */
function forms(secret: string): string[] {
  return [
    secret,
    encodeURIComponent(secret),
    Buffer.from(secret).toString('base64').slice(0, 16),
    JSON.stringify(secret).slice(1, -1),
  ];
}

function expectNoSecret(where: string, text: string | Buffer, secret: string): void {
  const haystack = Buffer.isBuffer(text) ? text : Buffer.from(text);
  for (const form of forms(secret)) {
    expect(haystack.includes(Buffer.from(form)), `${where} holds the password (${form})`).toBe(false);
  }
}

describe('registry credentials', () => {
  it('push with --registry-username/--registry-password-env and never appear in output, logs, layers or config', async () => {
    const args = [
      'package',
      '--model',
      'regression10:1',
      '--image',
      image,
      '--base-image',
      engineInfo().baseImage,
      '--push',
      '--registry-username',
      auth.username,
      '--registry-password-env',
      'EDGE_REGISTRY_PASSWORD',
    ];
    const runEnv = { ...env, EDGE_REGISTRY_PASSWORD: auth.password, MODELPORT_LOG_LEVEL: 'debug' };
    const json = await runModelport([...args, '--json'], runEnv);
    expect(json.code, json.stdout + json.stderr).toBe(0);
    expect(json.json().result.pushed).toBe(true);
    built.push(json.json().result.imageId);
    expect(await registryTags(auth.address, repository, `${auth.username}:${auth.password}`)).toEqual(['1']);
    // A second, human-readable run (progress lines on stderr) over the same tag.
    const human = await runModelport(args, runEnv);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(`pushed    ${auth.address}/${repository}@sha256:`);

    for (const [where, text] of [
      ['--json stdout', json.stdout],
      ['--json stderr (debug logs)', json.stderr],
      ['human stdout', human.stdout],
      ['human stderr', human.stderr],
    ] as const) {
      expectNoSecret(where, text, auth.password);
    }
    const history = await docker.getImage(image).history();
    expectNoSecret('docker history', JSON.stringify(history), auth.password);
    expectNoSecret('image config', JSON.stringify(await docker.getImage(image).inspect()), auth.password);
    // Every layer and the config, as `docker save` writes them.
    const saved = await savedImage(docker, image);
    expect(saved.length).toBeGreaterThan(1_000_000);
    expectNoSecret('docker save of the image', saved, auth.password);
  });

  it('fall back to what `docker login` stored for the registry, as the docker CLI does', async () => {
    const dockerConfig = join(work.path, 'docker-config');
    mkdirSync(dockerConfig);
    const auth64 = Buffer.from(`${auth.username}:${auth.password}`).toString('base64');
    writeFileSync(
      join(dockerConfig, 'config.json'),
      JSON.stringify({ auths: { [`http://${auth.address}`]: { auth: auth64 } } }),
    );
    const r = await runModelport(
      [
        'package',
        '--model',
        'regression10:1',
        '--image',
        `${auth.address}/${repository}:login`,
        '--base-image',
        engineInfo().baseImage,
        '--push',
        '--json',
      ],
      { ...env, DOCKER_CONFIG: dockerConfig, MODELPORT_LOG_LEVEL: 'debug' },
    );
    expect(r.code, r.stdout).toBe(0);
    expect(r.json().result).toMatchObject({ pushed: true, pushAuth: 'docker-config' });
    built.push(r.json().result.imageId);
    expect(await registryTags(auth.address, repository, `${auth.username}:${auth.password}`)).toContain(
      'login',
    );
    expectNoSecret('stdout', r.stdout, auth.password);
    expectNoSecret('stderr', r.stderr, auth.password);
    expect(r.stdout).not.toContain(auth64);
  });

  it('a rejected password is not echoed either', async () => {
    const attempt = `Wr0ng-${RUN_ID}-"pw"`;
    const r = await runModelport(
      [
        'package',
        '--model',
        'regression10:1',
        '--image',
        `${auth.address}/${repository}:rejected`,
        '--base-image',
        engineInfo().baseImage,
        '--push',
        '--registry-username',
        auth.username,
        '--registry-password-env',
        'EDGE_REGISTRY_PASSWORD',
      ],
      { ...env, EDGE_REGISTRY_PASSWORD: attempt, MODELPORT_LOG_LEVEL: 'debug' },
    );
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('refused to push');
    expectNoSecret('stdout', r.stdout, attempt);
    expectNoSecret('stderr', r.stderr, attempt);
  });
});
