/**
 * agent/Dockerfile.arm64: the agent image for 64-bit ARM, built here FROM the arm64 test base with
 * better-sqlite3 cross-compiled for arm64 (aarch64 g++ from Debian; cached in the harness cache, so only
 * the first run pays ~3 min), and run under qemu-user-static: it answers --version and applies a
 * deployment through the engine socket (its SQLite state store is the arm64 addon).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgentContext } from '../../../agent/image/build-context.js';
import { ensurePackages } from '../../support/engine/apt.js';
import {
  dockerClient,
  engineInfo,
  ensureArm64Base,
  removeByLabel,
  runContainer,
  runOnce,
} from '../../support/engine/helpers.js';
import { tempDir } from '../../support/tmp.js';
import {
  buildFolder,
  buildModuleImage,
  managedContainers,
  manifestOf,
  moduleOf,
  ROOT,
  readReported,
  removeAgentContainers,
  SUITE_LABEL,
} from './support.js';

const run = promisify(execFile);
const RUN = randomBytes(4).toString('hex');
const AGENT_ID = `arm64-${RUN}`;
const LABELS = { [SUITE_LABEL]: AGENT_ID };
const AGENT_IMAGE = `modelport-test/modelport-agent-arm64:${RUN}`;
const MODULE_IMAGE = `modelport-test/agent-module:arm64-${RUN}`;
const docker = dockerClient();
const tmp = tempDir('agent-arm64');

/** better-sqlite3 built for linux/arm64, from the installed sources, once per version and Node ABI. */
async function arm64BetterSqlite(cacheDir: string, allowInstall: boolean): Promise<string> {
  const source = join(ROOT, 'node_modules', 'better-sqlite3');
  const { version } = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')) as { version: string };
  const dir = join(cacheDir, 'agent-arm64', `better-sqlite3-${version}-abi${process.versions.modules}`);
  const done = join(dir, '.built');
  if (existsSync(done)) return dir;
  await ensurePackages([{ pkg: 'g++-aarch64-linux-gnu', executable: 'aarch64-linux-gnu-g++' }], {
    allowInstall,
  });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(source, dir, { recursive: true, filter: (p) => !p.includes(`${join(source, 'build')}`) });
  const { stdout: npmRoot } = await run('npm', ['root', '-g']);
  await run(
    process.execPath,
    [
      join(npmRoot.trim(), 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
      'rebuild',
      '--arch=arm64',
      '--release',
      `--nodedir=${join(process.execPath, '..', '..')}`,
    ],
    {
      cwd: dir,
      maxBuffer: 64 * 1024 * 1024,
      env: {
        ...process.env,
        CC: 'aarch64-linux-gnu-gcc',
        CXX: 'aarch64-linux-gnu-g++',
        LINK: 'aarch64-linux-gnu-g++',
        AR: 'aarch64-linux-gnu-ar',
      },
    },
  );
  writeFileSync(done, new Date().toISOString());
  return dir;
}

beforeAll(async () => {
  const info = engineInfo();
  await ensureArm64Base(info);
  const native = await arm64BetterSqlite(info.cacheDir, info.allowInstall);
  const context = await buildAgentContext({
    root: ROOT,
    out: join(tmp.path, 'context'),
    platform: 'linux/arm64',
    nativePackages: { 'better-sqlite3': native },
  });
  expect(context.dockerfile).toBe('Dockerfile.arm64');
  await buildFolder(docker, context.out, AGENT_IMAGE, {
    buildargs: { BASE_IMAGE: info.arm64BaseImage },
    platform: 'linux/arm64',
    labels: LABELS,
  });
  // The modules it deploys are ordinary x64 images: the agent only talks to the engine.
  await buildModuleImage(docker, info.baseImage, MODULE_IMAGE, LABELS);
}, 900_000);

afterAll(async () => {
  await removeAgentContainers(docker, AGENT_ID);
  await removeByLabel(`${SUITE_LABEL}=${AGENT_ID}`);
  tmp.cleanup();
});

describe('the arm64 agent image (under qemu)', () => {
  it('is an arm64 image that answers --version and deploys through the mounted socket', async () => {
    expect((await docker.getImage(AGENT_IMAGE).inspect()).Architecture).toBe('arm64');
    const version = await runOnce({
      image: AGENT_IMAGE,
      cmd: ['--version'],
      platform: 'linux/arm64',
      labels: LABELS,
    });
    expect(version.exitCode, version.stderr).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);

    const socket = engineInfo().dockerHost.replace(/^unix:\/\//, '');
    const config = join(tmp.path, 'config');
    const home = join(tmp.path, 'home');
    mkdirSync(config, { recursive: true });
    mkdirSync(home, { recursive: true });
    const module = `hello-${RUN}`;
    writeFileSync(
      join(config, 'deployment.json'),
      JSON.stringify(manifestOf({ [module]: { image: MODULE_IMAGE } })),
    );
    const agent = await runContainer({
      image: AGENT_IMAGE,
      platform: 'linux/arm64',
      cmd: [
        '--manifest',
        '/config/deployment.json',
        '--agent-id',
        AGENT_ID,
        '--interval',
        '1',
        '--health-stable',
        '1',
      ],
      binds: [`${socket}:/var/run/docker.sock`, `${config}:/config:ro`, `${home}:/var/lib/modelport-agent`],
      labels: LABELS,
    });
    try {
      await expect
        .poll(() => readReported(home)?.lastDesiredStatus?.code, { timeout: 180_000, interval: 1_000 })
        .toBe(200);
      expect(readReported(home)?.runtime).toMatchObject({ platform: { architecture: 'aarch64' } });
      const containers = await managedContainers(docker, AGENT_ID);
      expect(containers.map(moduleOf)).toEqual([module]);
    } finally {
      const { stdout, stderr } = await agent.output();
      await agent.remove();
      if (!readReported(home)) console.error(`agent container output:\n${stdout}\n${stderr}`);
    }
  });
});
