/**
 * Offline mode on the real engine: three modules from a manifest file; then one changed, one stopped,
 * one removed (and one added from the registry); each converges. The agent restarted without any change
 * adopts what runs.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerClient, engineInfo, freePort, removeByLabel } from '../../support/engine/helpers.js';
import { tempDir } from '../../support/tmp.js';
import {
  type AgentRun,
  buildModuleImage,
  httpText,
  managedContainers,
  manifestOf,
  moduleOf,
  pushImage,
  removeAgentContainers,
  SUITE_LABEL,
  startAgent,
  type TestModule,
  waitForReported,
  writeManifest,
} from './support.js';

const RUN = randomBytes(4).toString('hex');
const AGENT_ID = `converge-${RUN}`;
const IMAGE = `modelport-test/agent-module:converge-${RUN}`;
const docker = dockerClient();
const tmp = tempDir('agent-converge');
const manifest = join(tmp.path, 'deployment.json');
const home = join(tmp.path, 'home');
const name = (m: string) => `${m}-${RUN}`;
let agent: AgentRun | undefined;
let remoteImage = '';

beforeAll(async () => {
  const info = engineInfo();
  await buildModuleImage(docker, info.baseImage, IMAGE, { [SUITE_LABEL]: AGENT_ID });
  remoteImage = `${info.registry}/modelport-test/agent-module:converge-${RUN}`;
  await docker
    .getImage(IMAGE)
    .tag({ repo: remoteImage.split(':').slice(0, -1).join(':'), tag: `converge-${RUN}` });
  await pushImage(docker, remoteImage);
  // Only the registry has it now: the agent must pull it (with the deployment's registryCredentials).
  await docker.getImage(remoteImage).remove();
});

afterAll(async () => {
  await agent?.stop();
  await removeAgentContainers(docker, AGENT_ID);
  await docker
    .getImage(remoteImage)
    .remove({ force: true })
    .catch(() => undefined);
  await removeByLabel(`${SUITE_LABEL}=${AGENT_ID}`);
  tmp.cleanup();
});

const byModule = async () =>
  new Map((await managedContainers(docker, AGENT_ID)).map((c) => [moduleOf(c), c] as const));

describe('modelport-agent --manifest', () => {
  it('deploys, updates, stops, removes and adds modules, each converging', async () => {
    const [portA, portB, portD] = await Promise.all([freePort(), freePort(), freePort()]);
    const v1: Record<string, TestModule> = {
      [name('api')]: { image: IMAGE, port: portA, startupOrder: 0, env: { MODULE_VERSION: 'a1' } },
      [name('scorer')]: { image: IMAGE, port: portB, startupOrder: 1, env: { MODULE_VERSION: 'b1' } },
      [name('sensor')]: { image: IMAGE, startupOrder: 1 },
    };
    writeManifest(manifest, v1);
    agent = startAgent({ home, manifest, agentId: AGENT_ID, args: ['--health-window', '30'] });

    const r1 = await waitForReported(
      home,
      (r) => r.lastDesiredVersion === 1 && r.lastDesiredStatus?.code === 200,
      90_000,
      agent,
    );
    expect(Object.keys(r1.modules ?? {}).sort()).toEqual(Object.keys(v1).sort());
    for (const m of Object.values(r1.modules ?? {})) expect(m.runtimeStatus).toBe('running');
    const first = await byModule();
    expect([...first.keys()].sort()).toEqual(Object.keys(v1).sort());
    for (const [module, c] of first) {
      expect(c.Name).toBe(`/${module}`);
      expect(c.State.Running).toBe(true);
      expect(c.HostConfig.RestartPolicy?.Name).toBe('no');
      expect(c.Config.Labels).toMatchObject({
        'modelport.deployment': '1',
        'modelport.desired-status': 'running',
      });
    }
    // startupOrder: the lower group was started before the higher one.
    const started = (m: string) => Date.parse(first.get(name(m))?.State.StartedAt ?? '');
    expect(started('api')).toBeLessThanOrEqual(started('scorer'));
    expect((await httpText(`http://127.0.0.1:${portB}/`))?.body).toBe('Healthy b1');

    // v2: scorer changed (recreated), sensor stopped, api removed, remote added (pulled).
    const v2: Record<string, TestModule> = {
      [name('scorer')]: { image: IMAGE, port: portB, startupOrder: 1, env: { MODULE_VERSION: 'b2' } },
      [name('sensor')]: { image: IMAGE, startupOrder: 1, status: 'stopped' },
      [name('remote')]: { image: remoteImage, port: portD, env: { MODULE_VERSION: 'd1' } },
    };
    const registryCredentials = {
      local: { address: engineInfo().registry, username: 'test', password: 'test' },
    };
    writeFileSync(manifest, JSON.stringify(manifestOf(v2, { registryCredentials })));
    const r2 = await waitForReported(
      home,
      (r) => r.lastDesiredVersion === 2 && r.lastDesiredStatus?.code === 200,
      90_000,
      agent,
    );
    const second = await byModule();
    expect([...second.keys()].sort()).toEqual(Object.keys(v2).sort());
    expect(second.get(name('scorer'))?.Id).not.toBe(first.get(name('scorer'))?.Id);
    expect(second.get(name('scorer'))?.Config.Labels['modelport.deployment']).toBe('2');
    expect(second.get(name('sensor'))?.Id).toBe(first.get(name('sensor'))?.Id);
    expect(second.get(name('sensor'))?.State.Running).toBe(false);
    expect(second.get(name('remote'))?.Config.Image).toBe(remoteImage);
    expect((await httpText(`http://127.0.0.1:${portB}/`))?.body).toBe('Healthy b2');
    expect((await httpText(`http://127.0.0.1:${portD}/`))?.body).toBe('Healthy d1');
    expect(await httpText(`http://127.0.0.1:${portA}/`)).toBeUndefined();
    expect(r2.modules?.[name('sensor')]).toMatchObject({ runtimeStatus: 'stopped', status: 'stopped' });
    expect(r2.modules?.[name('api')]).toBeUndefined();
    expect(agent.logs()).toMatch(new RegExp(`create:${name('scorer')}:[0-9a-f]{12} \\(env changed\\) done`));

    // A restart of the agent with nothing new adopts what runs: no container is replaced.
    expect(await agent.stop()).toBe(0);
    agent = startAgent({ home, manifest, agentId: AGENT_ID, args: ['--health-window', '30'] });
    await waitForReported(
      home,
      (r) =>
        (r.modelport as { deployment?: { phase?: string } } | undefined)?.deployment?.phase === 'running',
      30_000,
      agent,
    );
    const third = await byModule();
    for (const [module, c] of second) expect(third.get(module)?.Id).toBe(c.Id);
    expect(agent.logs()).not.toMatch(/"event":"step-succeeded"/);
  });
});
