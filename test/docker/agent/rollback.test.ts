/**
 * Bad deployments on the real engine: a schema error, an image that cannot be pulled and a missing
 * image under imagePullPolicy never are reported and leave the running modules as they were; a
 * deployment whose modules do not become healthy is rolled back to the last known good one, and the
 * failed version is not retried after an agent restart.
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
  removeAgentContainers,
  SUITE_LABEL,
  startAgent,
  type TestModule,
  waitForReported,
} from './support.js';

const RUN = randomBytes(4).toString('hex');
const AGENT_ID = `rollback-${RUN}`;
const IMAGE = `modelport-test/agent-module:rollback-${RUN}`;
const docker = dockerClient();
const tmp = tempDir('agent-rollback');
const manifestPath = join(tmp.path, 'deployment.json');
const home = join(tmp.path, 'home');
const web = `web-${RUN}`;
const worker = `worker-${RUN}`;
let agent: AgentRun | undefined;

beforeAll(async () => {
  await buildModuleImage(docker, engineInfo().baseImage, IMAGE, { [SUITE_LABEL]: AGENT_ID });
});

afterAll(async () => {
  await agent?.stop();
  await removeAgentContainers(docker, AGENT_ID);
  await removeByLabel(`${SUITE_LABEL}=${AGENT_ID}`);
  tmp.cleanup();
});

const snapshot = async () =>
  new Map(
    (await managedContainers(docker, AGENT_ID)).map((c) => [
      moduleOf(c),
      { id: c.Id, running: c.State.Running, hash: c.Config.Labels['modelport.spec-hash'] },
    ]),
  );

const write = (doc: unknown) =>
  writeFileSync(manifestPath, typeof doc === 'string' ? doc : JSON.stringify(doc));

describe('bad deployments', () => {
  it('reports them, keeps the running modules, and rolls back an unhealthy one', async () => {
    const port = await freePort();
    const good: Record<string, TestModule> = {
      [web]: { image: IMAGE, port, env: { MODULE_VERSION: 'good' } },
      [worker]: { image: IMAGE },
    };
    const goodManifest = manifestOf(good);
    write(goodManifest);
    agent = startAgent({ home, manifest: manifestPath, agentId: AGENT_ID, args: ['--health-window', '6'] });
    await waitForReported(
      home,
      (r) => r.lastDesiredVersion === 1 && r.lastDesiredStatus?.code === 200,
      90_000,
      agent,
    );
    const before = await snapshot();
    expect(before.size).toBe(2);

    // 1. A schema error: ConfigFormatError (400), with the JSONPath of the problem.
    const broken = structuredClone(goodManifest) as {
      modulesContent: { $edgeAgent: { 'properties.desired': Record<string, unknown> } };
    };
    delete broken.modulesContent.$edgeAgent['properties.desired']['systemModules'];
    write(broken);
    const r2 = await waitForReported(home, (r) => r.lastDesiredVersion === 2, 30_000, agent);
    expect(r2.lastDesiredStatus?.code).toBe(400);
    expect(r2.lastDesiredStatus?.description).toMatch(/systemModules/);
    expect(await snapshot()).toEqual(before);

    // 2. An image that does not exist in the registry: Failed (500), nothing stopped.
    const missing = `${engineInfo().registry}/modelport-test/does-not-exist:${RUN}`;
    write(manifestOf({ ...good, [web]: { ...good[web], image: missing } as TestModule }));
    const r3 = await waitForReported(home, (r) => r.lastDesiredVersion === 3, 90_000, agent);
    expect(r3.lastDesiredStatus?.code).toBe(500);
    expect(r3.lastDesiredStatus?.description).toMatch(/cannot pull image .*does-not-exist/);
    expect(r3.lastDesiredStatus?.description).toMatch(/rolled back to version 1/);
    expect(await snapshot()).toEqual(before);
    expect((await httpText(`http://127.0.0.1:${port}/`))?.body).toBe('Healthy good');

    // 3. imagePullPolicy never, image not on the device.
    write(
      manifestOf({
        ...good,
        [worker]: { image: `modelport-test/not-here:${RUN}`, imagePullPolicy: 'never' },
      }),
    );
    const r4 = await waitForReported(home, (r) => r.lastDesiredVersion === 4, 30_000, agent);
    expect(r4.lastDesiredStatus).toMatchObject({ code: 500 });
    expect(r4.lastDesiredStatus?.description).toMatch(/not on this device .*imagePullPolicy never/);
    expect(await snapshot()).toEqual(before);

    // 4. A deployment whose web module answers 503: rolled back once the health window (6 s) is over.
    write(
      manifestOf({
        ...good,
        [web]: { image: IMAGE, port, mode: 'unhealthy', env: { MODULE_VERSION: 'bad' } },
      }),
    );
    const r5 = await waitForReported(
      home,
      (r) =>
        r.lastDesiredVersion === 5 &&
        r.lastDesiredStatus?.code === 500 &&
        (r.modelport as { deployment?: { phase?: string } }).deployment?.phase === 'rolled-back',
      90_000,
      agent,
    );
    expect(r5.lastDesiredStatus?.description).toMatch(
      new RegExp(
        `modules not healthy within 6 s: '${web}': GET / on port ${port}: HTTP 503; rolled back to version 1`,
      ),
    );
    // The good deployment's containers, as first created: their spec hashes cover everything the agent
    // adds (the local hub's environment too), so the rolled-back ones must carry exactly these.
    const goodHashes = new Map([...before].map(([module, c]) => [module, c.hash]));
    expect(goodHashes.size).toBe(2);
    const after = await snapshot();
    for (const [module, c] of after) {
      expect(c.hash).toBe(goodHashes.get(module));
      expect(c.running).toBe(true);
    }
    await expect
      .poll(async () => (await httpText(`http://127.0.0.1:${port}/`))?.body, { timeout: 20_000 })
      .toBe('Healthy good');

    // 5. After a restart the failed version is not tried again (no new desired version arrived).
    expect(await agent.stop()).toBe(0);
    const settled = await snapshot();
    agent = startAgent({ home, manifest: manifestPath, agentId: AGENT_ID, args: ['--health-window', '6'] });
    await waitForReported(
      home,
      (r) => (r.modelport as { deployment?: { phase?: string } }).deployment?.phase !== undefined,
      30_000,
      agent,
    );
    await expect
      .poll(() => agent?.logs().includes('desired version 5 is already known'), { timeout: 20_000 })
      .toBe(true);
    expect(await snapshot()).toEqual(settled);
    expect(agent.logs()).not.toMatch(/"event":"plan-created"/);
  });
});
