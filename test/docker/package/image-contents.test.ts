import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runModelport } from '../../support/cli.js';
import {
  dockerClient,
  engineInfo,
  freePort,
  HARNESS_LABEL,
  runContainer,
} from '../../support/engine/helpers.js';
import { waitUntil } from '../../support/engine/wait.js';
import { GUIDE_SAMPLE, regression10Expected } from '../../support/fixture-reference.js';
import { tempDir } from '../../support/tmp.js';
import {
  dockerCli,
  type ImageFile,
  imageFiles,
  postJson,
  RUN_ID,
  registerFixtures,
  removeImages,
  runPackage,
} from './helpers.js';

const work = tempDir('package-contents');
const docker = dockerClient();
const built = `modelport-contents-${RUN_ID}/regression10:built`;
const fromDir = `modelport-contents-${RUN_ID}/regression10:from-dir`;
const outputDir = join(work.path, 'context');
let env: NodeJS.ProcessEnv;
let builtFiles: Map<string, ImageFile>;

beforeAll(async () => {
  const info = engineInfo();
  env = await registerFixtures(join(work.path, 'home'), ['regression10']);
  const a = await runPackage(
    ['--model', 'regression10:1', '--image', built, '--base-image', info.baseImage],
    env,
  );
  expect(a.code, a.stdout + a.stderr).toBe(0);
  const b = await runPackage(
    [
      '--model',
      'regression10:1',
      '--image',
      fromDir,
      '--base-image',
      info.baseImage,
      '--output-dir',
      outputDir,
    ],
    env,
  );
  expect(b.code, b.stdout + b.stderr).toBe(0);
  expect(b.json().result.outputDir).toBe(outputDir);
  builtFiles = await imageFiles(docker, built, '/var/azureml-app/');
});
afterAll(async () => {
  await removeImages(docker, [built, fromDir]);
  work.cleanup();
});

/** Every file under a folder, relative and '/'-separated. */
function listTree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((p) => statSync(join(dir, p)).isFile())
    .map((p) => relative(dir, join(dir, p)).split(sep).join('/'))
    .sort();
}

describe('the module image', () => {
  it('declares the model, Azure ML environment, port, user, healthcheck and labels', async () => {
    const shown = (await runModelport(['model', 'show', 'regression10:1', '--json'], env)).json().result;
    const config = (await docker.getImage(built).inspect()).Config;
    expect(config.Env).toEqual(
      expect.arrayContaining([
        'AZUREML_MODEL_DIR=/var/azureml-app/azureml-models/regression10/1',
        'MODELPORT_MODELS=[{"name":"regression10","version":"1","file":"regression10.onnx"}]',
        'AML_APP_ROOT=/var/azureml-app',
        'MODELPORT_PORT=5001',
        'ORT_DISABLE_TELEMETRY=1',
        'NODE_ENV=production',
      ]),
    );
    expect(config.Env.some((e) => e.startsWith('AZUREML_ENTRY_SCRIPT='))).toBe(false);
    expect(config.User).toBe('1000:1000');
    expect(Object.keys(config.ExposedPorts ?? {})).toEqual(['5001/tcp']);
    expect(config.Cmd).toEqual(['node', '/var/azureml-app/modules/scoring/main.js']);
    expect(config.WorkingDir).toBe('/var/azureml-app');
    const healthcheck = (config as { Healthcheck?: { Test?: string[] } }).Healthcheck;
    expect(healthcheck?.Test?.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(config.Labels).toMatchObject({
      'com.modelport.model.name': 'regression10',
      'com.modelport.model.version': '1',
      'com.modelport.model.digest': shown.digest,
      'com.modelport.platform': 'linux/amd64',
      'org.opencontainers.image.title': 'regression10',
      'org.opencontainers.image.version': 'built',
      'org.opencontainers.image.base.name': engineInfo().baseImage,
    });
    expect(JSON.parse(config.Labels['com.modelport.models'] ?? '')).toEqual([
      { name: 'regression10', version: 1, digest: shown.digest },
    ]);
    expect(Date.parse(config.Labels['org.opencontainers.image.created'] ?? '')).toBeGreaterThan(0);
  });

  it('becomes healthy through its own HEALTHCHECK on GET /', async () => {
    const port = await freePort();
    // Only the interval is shortened for the test; the engine keeps the image's check command.
    const container = await docker.createContainer({
      Image: built,
      Env: [`MODELPORT_PORT=${port}`],
      Labels: { [HARNESS_LABEL]: 'true' },
      Healthcheck: { Interval: 1_000_000_000, Timeout: 10_000_000_000 },
      HostConfig: { NetworkMode: 'host' },
    });
    try {
      await container.start();
      const state = await waitUntil(
        'container healthy',
        async () => {
          const s = (await container.inspect()).State;
          if (s.Health?.Status !== 'healthy')
            throw new Error(`health ${s.Health?.Status} (running ${s.Running})`);
          return s;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      const check = (await container.inspect()).Config as { Healthcheck?: { Test?: string[] } };
      expect(check.Healthcheck?.Test?.[3]).toContain("+'/'");
      expect(state.Health?.Log?.at(-1)?.ExitCode).toBe(0);
    } finally {
      await container.remove({ force: true });
    }
  });

  it('holds production dependencies only, with the linux/x64 onnxruntime binaries alone', () => {
    const paths = [...builtFiles.keys()];
    const ort = paths.filter((p) => p.startsWith('/var/azureml-app/node_modules/onnxruntime-node/bin/'));
    expect(ort.sort()).toEqual([
      '/var/azureml-app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1',
      '/var/azureml-app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
    ]);
    const packages = new Set(
      paths
        .filter((p) => p.startsWith('/var/azureml-app/node_modules/'))
        .map((p) => {
          const parts = p.slice('/var/azureml-app/node_modules/'.length).split('/');
          return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
        }),
    );
    for (const needed of ['fastify', 'onnxruntime-node', 'onnxruntime-common', 'pino'])
      expect(packages).toContain(needed);
    for (const dev of [
      'vitest',
      'typescript',
      '@biomejs/biome',
      'tsx',
      'esbuild',
      'better-sqlite3',
      'dockerode',
      'commander',
    ]) {
      expect(packages, dev).not.toContain(dev);
    }
    expect(paths.filter((p) => p.endsWith('.d.ts') || p.endsWith('.map'))).toEqual([]);
    // Docs go; legal files stay whatever their extension (licence terms may require AUTHORS, NOTICE).
    const legal = /\/(licen[cs]e|notice|copying|authors|patents)[^/]*$/i;
    expect(paths.filter((p) => /\.md$/i.test(p) && !legal.test(p))).toEqual([]);
    // The server's code, none of the operator's or the agent's.
    expect(paths).toContain('/var/azureml-app/modules/scoring/main.js');
    expect(paths.filter((p) => /^\/var\/azureml-app\/(cloud|agent)\//.test(p))).toEqual([]);
    const pkg = builtFiles.get('/var/azureml-app/package.json');
    expect(pkg?.uid).toBe(0);
    expect(pkg?.mode).toBe(0o644);
  });
});

describe('--output-dir', () => {
  it('writes the Dockerfile and the whole context; `docker build` on it gives the same files', async () => {
    const info = engineInfo();
    const tree = listTree(outputDir);
    expect(tree[0]).toBe('Dockerfile');
    expect(tree).toContain('azureml-models/regression10/1/regression10.onnx');
    expect(tree).toContain('app/modules/scoring/main.js');
    expect(tree.filter((p) => p.startsWith('node_modules/onnxruntime-node/bin/'))).toEqual([
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
    ]);
    const dockerfile = readFileSync(join(outputDir, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain(`ARG BASE_IMAGE=${info.baseImage}`);
    expect(dockerfile).toContain('ENV AZUREML_MODEL_DIR="/var/azureml-app/azureml-models/regression10/1"');

    await dockerCli(['build', '-q', '-t', fromDir, outputDir], info.dockerHost);
    const fromDirFiles = await imageFiles(docker, fromDir, '/var/azureml-app/');
    expect([...fromDirFiles.keys()].sort()).toEqual([...builtFiles.keys()].sort());
    for (const [path, file] of builtFiles) {
      const other = fromDirFiles.get(path);
      expect({ path, sha256: other?.sha256, mode: other?.mode, uid: other?.uid }).toEqual({
        path,
        sha256: file.sha256,
        mode: file.mode,
        uid: file.uid,
      });
    }
    const [a, b] = [await docker.getImage(built).inspect(), await docker.getImage(fromDir).inspect()];
    // Same labels but the build time and the tag (each image was packaged under its own tag).
    const comparable = (labels: Record<string, string>) => {
      const {
        'org.opencontainers.image.created': _created,
        'org.opencontainers.image.version': _version,
        ...rest
      } = labels;
      return rest;
    };
    expect(comparable(b.Config.Labels)).toEqual(comparable(a.Config.Labels));
    expect(b.Config.Labels['org.opencontainers.image.version']).toBe('from-dir');
    expect(b.Config.Env).toEqual(a.Config.Env);
    expect([b.Config.User, b.Config.Cmd, b.Config.ExposedPorts]).toEqual([
      a.Config.User,
      a.Config.Cmd,
      a.Config.ExposedPorts,
    ]);
  });

  it('and the image built from it scores like the one modelport built', async () => {
    const port = await freePort();
    const run = await runContainer({ image: fromDir, port });
    try {
      await run.waitForHttp('/v2/health/ready', 60_000);
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
