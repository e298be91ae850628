/**
 * The agent's start-first (blue/green) update with a real engine and the real agent process, on the
 * tiny test module (MODE=serve answers `Healthy <MODULE_VERSION>` on MODELPORT_PORT): a new version
 * replaces the old one under keep-alive load with no failed request, and a `kill -9` of the agent at
 * random (seeded) points of a swap always converges to one routed, up-to-date container.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeployment } from '../../../manifests/index.js';
import { dockerClient, engineInfo, freePort, removeByLabel } from '../../support/engine/helpers.js';
import { tempDir } from '../../support/tmp.js';
import {
  type AgentRun,
  buildModuleImage,
  managedContainers,
  moduleInput,
  moduleOf,
  removeAgentContainers,
  SUITE_LABEL,
  seededRandom,
  startAgent,
  waitForReported,
} from '../agent/support.js';
import { type LoadRun, startLoad } from './load.js';

const RUN = randomBytes(4).toString('hex');
const AGENT_ID = `start-first-${RUN}`;
const IMAGE = `modelport-test/agent-module:start-first-${RUN}`;
const MODULE = `web-${RUN}`;
const SEED = Number(process.env.MODELPORT_KILL9_SEED ?? 20302);
const docker = dockerClient();
const tmp = tempDir('start-first');
const manifestPath = join(tmp.path, 'deployment.json');
let agent: AgentRun | undefined;
let load: LoadRun | undefined;
let port = 0;

beforeAll(async () => {
  await buildModuleImage(docker, engineInfo().baseImage, IMAGE, { [SUITE_LABEL]: AGENT_ID });
  port = await freePort();
});

afterAll(async () => {
  await load?.stop();
  await agent?.kill9();
  await removeAgentContainers(docker, AGENT_ID);
  await removeByLabel(`${SUITE_LABEL}=${AGENT_ID}`);
  tmp.cleanup();
});

/** The deployment with the start-first module answering `Healthy <version>`. */
function deployment(version: number): string {
  const input = moduleInput(MODULE, { image: IMAGE, port, env: { MODULE_VERSION: String(version) } });
  input.createOptions = {
    ...input.createOptions,
    Labels: { 'modelport.update': 'start-first', 'modelport.update.ready-path': '/' },
  };
  return JSON.stringify(buildDeployment({ modules: { [MODULE]: input } }));
}

function deploy(version: number): string {
  const json = deployment(version);
  writeFileSync(manifestPath, json);
  return json;
}

/** GET / on the public port with a fresh connection; undefined when nothing answers. */
function answer(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 2_000 }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve(res.statusCode === 200 ? body : `HTTP ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/** ms from the start of the last `createBehindProxy` step to the end of the last `remove` step, from the agent log. */
function swapMs(logs: string): number {
  const steps = logs
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event?: string; step?: string; time: number; ms?: number })
    .filter((e) => e.event === 'step-succeeded');
  const created = steps.filter((e) => e.step?.startsWith('createBehindProxy:')).at(-1);
  const removed = steps.filter((e) => e.step?.startsWith('remove:')).at(-1);
  return (removed?.time ?? Number.NaN) - ((created?.time ?? Number.NaN) - (created?.ms ?? 0));
}

describe('start-first update in the agent', () => {
  it('replaces v1 by v2 under keep-alive load with no failed request, through the agent proxy', async () => {
    const home = join(tmp.path, 'home-swap');
    deploy(1);
    agent = startAgent({ home, manifest: manifestPath, agentId: AGENT_ID });
    await waitForReported(home, (r) => r.lastDesiredStatus?.code === 200, 60_000, agent);
    expect(await answer()).toBe('Healthy 1');
    const [first] = await managedContainers(docker, AGENT_ID);
    expect(first?.Config.Labels['modelport.update.internal-port']).toMatch(/^\d+$/);
    // The container listens on its own port; the public one is the agent's.
    expect(first?.Config.Env).toContain(
      `MODELPORT_PORT=${first?.Config.Labels['modelport.update.internal-port']}`,
    );

    load = startLoad({ port, path: '/', connections: 4 });
    await load.until((answers) => answers.length >= 50);
    deploy(2);
    await waitForReported(
      home,
      (r) => r.lastDesiredVersion === 2 && r.lastDesiredStatus?.code === 200,
      60_000,
      agent,
    );
    await load.until((answers) => answers.filter((a) => a === 'Healthy 2').length >= 50);
    const result = await load.stop();
    load = undefined;

    expect(result.failures, JSON.stringify(result.failures.slice(0, 5))).toEqual([]);
    for (const seen of result.perConnection) {
      const switched = seen.indexOf('Healthy 2');
      // indexOf -1 would make both checks below pass on a connection that never saw v2.
      expect(switched, 'each connection saw the new version').toBeGreaterThanOrEqual(0);
      expect(seen.slice(0, switched).every((s) => s === 'Healthy 1')).toBe(true);
      expect(
        seen.slice(switched).every((s) => s === 'Healthy 2'),
        'no v1 answer after the first v2 one',
      ).toBe(true);
    }
    // One container left: the v2 one, named after the module and its spec (the agent adds env of its
    // own, so the spec hash is read from the container's label).
    const containers = await managedContainers(docker, AGENT_ID);
    expect(containers).toHaveLength(1);
    const [kept] = containers;
    expect(kept?.Config.Env).toContain('MODULE_VERSION=2');
    expect(kept?.Name).toBe(`/${MODULE}.${kept?.Config.Labels['modelport.spec-hash']?.slice(0, 12)}`);
    console.log(
      `start-first swap: ${result.total} requests over ${result.perConnection.length} keep-alive connections, ` +
        `0 failed; new container created → old one removed in ${swapMs(agent.logs())} ms`,
    );
    expect(await agent.stop()).toBe(0);
    agent = undefined;
  });

  it('converges after a kill -9 at any point of a swap: one routed, up-to-date container (seeded)', async () => {
    // An agent left by a failed test above would fight this one over the containers and the port.
    await agent?.kill9();
    const home = join(tmp.path, 'home-kill9');
    const random = seededRandom(SEED);
    const killPoints: number[] = [];
    let version = 10;
    deploy(version);
    agent = startAgent({ home, manifest: manifestPath, agentId: AGENT_ID });
    await waitForReported(home, (r) => r.lastDesiredStatus?.code === 200, 60_000, agent);
    for (let round = 1; round <= 6; round++) {
      version++;
      deploy(version);
      const killAfterMs = Math.floor(random() * 2_500);
      killPoints.push(killAfterMs);
      await sleep(killAfterMs);
      await agent.kill9();
      agent = startAgent({ home, manifest: manifestPath, agentId: AGENT_ID });
      const why = `round ${round}, killed after ${killAfterMs} ms (seed ${SEED}, kill points ${killPoints.join(',')})`;
      await waitForReported(
        home,
        (r) => r.lastDesiredStatus?.code === 200 && r.lastDesiredVersion !== undefined,
        60_000,
        agent,
      );
      await expect.poll(answer, { timeout: 30_000, message: why }).toBe(`Healthy ${version}`);
      await expect
        .poll(
          async () =>
            (await managedContainers(docker, AGENT_ID)).map((c) => [
              moduleOf(c),
              c.State.Running,
              c.Config.Env.includes(`MODULE_VERSION=${version}`),
            ]),
          { timeout: 30_000, message: why },
        )
        .toEqual([[MODULE, true, true]]);
    }
    expect(await agent.stop()).toBe(0);
    agent = undefined;
  });
});
