/**
 * The agent's own image (agent/Dockerfile): built FROM the local test base from the context
 * build-context.ts writes, it answers --version and runs a short offline deployment through the
 * engine socket mounted into it.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgentContext } from '../../../agent/image/build-context.js';
import {
  dockerClient,
  engineInfo,
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

const RUN = randomBytes(4).toString('hex');
const AGENT_ID = `image-${RUN}`;
const LABELS = { [SUITE_LABEL]: AGENT_ID };
const AGENT_IMAGE = `modelport-test/modelport-agent:${RUN}`;
const MODULE_IMAGE = `modelport-test/agent-module:image-${RUN}`;
const docker = dockerClient();
const tmp = tempDir('agent-image');

beforeAll(async () => {
  const info = engineInfo();
  const context = await buildAgentContext({
    root: ROOT,
    out: join(tmp.path, 'context'),
    platform: 'linux/amd64',
  });
  expect(context.packages.map((p) => p.name)).toEqual(
    expect.arrayContaining(['dockerode', 'better-sqlite3', 'azure-iot-device']),
  );
  await buildFolder(docker, context.out, AGENT_IMAGE, {
    buildargs: { BASE_IMAGE: info.baseImage },
    labels: LABELS,
  });
  await buildModuleImage(docker, info.baseImage, MODULE_IMAGE, LABELS);
}, 300_000);

afterAll(async () => {
  await removeAgentContainers(docker, AGENT_ID);
  await removeByLabel(`${SUITE_LABEL}=${AGENT_ID}`);
  tmp.cleanup();
});

describe('the agent image', () => {
  it('answers --version', async () => {
    const out = await runOnce({ image: AGENT_IMAGE, cmd: ['--version'], labels: LABELS });
    expect(out.exitCode, out.stderr).toBe(0);
    expect(out.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('deploys a manifest through the mounted Docker socket', async () => {
    const socket = engineInfo().dockerHost.replace(/^unix:\/\//, '');
    const config = join(tmp.path, 'config');
    const home = join(tmp.path, 'home');
    mkdirSync(config, { recursive: true });
    mkdirSync(home, { recursive: true });
    const module = `hello-${RUN}`;
    writeFileSync(
      join(config, 'deployment.json'),
      JSON.stringify(manifestOf({ [module]: { image: MODULE_IMAGE, env: { MODULE_VERSION: 'in-image' } } })),
    );
    const agent = await runContainer({
      image: AGENT_IMAGE,
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
        .poll(() => readReported(home)?.lastDesiredStatus?.code, { timeout: 120_000, interval: 500 })
        .toBe(200);
      const containers = await managedContainers(docker, AGENT_ID);
      expect(containers.map(moduleOf)).toEqual([module]);
      expect(containers[0]?.State.Running).toBe(true);
      expect(readReported(home)?.modules?.[module]?.runtimeStatus).toBe('running');
    } finally {
      const { stdout, stderr } = await agent.output();
      await agent.remove();
      if (!readReported(home)) console.error(`agent container output:\n${stdout}\n${stderr}`);
    }
  });
});
