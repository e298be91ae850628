/**
 * Restart policies enforced by the agent on the real engine: a crashing module is restarted with a
 * growing back-off, `never` stays down, an unhealthy container (Docker HEALTHCHECK) is restarted under
 * `on-unhealthy`, and a model that fails its integrity check (exit 78) is reported as such.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentStore } from '../../../agent/state/store.js';
import { dockerClient, engineInfo, freePort, removeByLabel } from '../../support/engine/helpers.js';
import { tempDir } from '../../support/tmp.js';
import {
  type AgentRun,
  buildModuleImage,
  managedContainers,
  moduleOf,
  removeAgentContainers,
  SUITE_LABEL,
  startAgent,
  waitForReported,
  writeManifest,
} from './support.js';

const RUN = randomBytes(4).toString('hex');
const AGENT_ID = `restart-${RUN}`;
const IMAGE = `modelport-test/agent-module:restart-${RUN}`;
const docker = dockerClient();
const tmp = tempDir('agent-restart');
const manifest = join(tmp.path, 'deployment.json');
const home = join(tmp.path, 'home');
const crasher = `crasher-${RUN}`;
const never = `never-${RUN}`;
const sick = `sick-${RUN}`;
const tampered = `tampered-${RUN}`;
let agent: AgentRun | undefined;

const INTEGRITY_MESSAGE =
  "model integrity check failed: model 'mnist' version 3: expected sha256:1111111111111111111111111111111111111111111111111111111111111111, found sha256:2222222222222222222222222222222222222222222222222222222222222222";

beforeAll(async () => {
  await buildModuleImage(docker, engineInfo().baseImage, IMAGE, { [SUITE_LABEL]: AGENT_ID });
});

afterAll(async () => {
  await agent?.stop();
  await removeAgentContainers(docker, AGENT_ID);
  await removeByLabel(`${SUITE_LABEL}=${AGENT_ID}`);
  tmp.cleanup();
});

describe('restart policies', () => {
  it('restarts crashes with growing back-off, leaves `never` down, restarts the unhealthy, explains integrity failures', async () => {
    const port = await freePort();
    writeManifest(manifest, {
      [crasher]: { image: IMAGE, mode: 'crash', restartPolicy: 'always', env: { CRASH_AFTER_MS: '200' } },
      [never]: {
        image: IMAGE,
        mode: 'crash',
        restartPolicy: 'never',
        env: { CRASH_MESSAGE: 'cannot open /dev/camera0' },
      },
      [sick]: { image: IMAGE, mode: 'unhealthy', port, restartPolicy: 'on-unhealthy', healthcheck: true },
      [tampered]: {
        image: IMAGE,
        mode: 'crash',
        restartPolicy: 'on-failure',
        env: { EXIT_CODE: '78', CRASH_AFTER_MS: '100', CRASH_MESSAGE: INTEGRITY_MESSAGE },
      },
    });
    // A long health window: this test is about restarts, not rollback.
    agent = startAgent({ home, manifest, agentId: AGENT_ID, args: ['--health-window', '600'] });

    const r = await waitForReported(
      home,
      (doc) =>
        (doc.modules?.[crasher]?.restartCount ?? 0) >= 3 &&
        (doc.modules?.[sick]?.restartCount ?? 0) >= 1 &&
        doc.modules?.[never]?.runtimeStatus === 'failed' &&
        (doc.modules?.[tampered]?.restartCount ?? 0) >= 1,
      120_000,
      agent,
    );

    expect(r.modules?.[never]).toMatchObject({
      runtimeStatus: 'failed',
      restartCount: 0,
      exitCode: 1,
      statusDescription: 'exited with code 1: cannot open /dev/camera0',
    });
    expect(r.modules?.[tampered]?.exitCode).toBe(78);
    expect(r.modules?.[tampered]?.statusDescription).toMatch(
      /^model integrity check failed: model 'mnist' version 3: expected sha256:1{64}, found sha256:2{64}/,
    );
    expect(['backoff', 'failed', 'running']).toContain(r.modules?.[crasher]?.runtimeStatus);
    expect(agent.logs()).toMatch(
      new RegExp(`restarted module '${sick}' \\(restart \\d+\\): container is unhealthy`),
    );
    expect(agent.logs()).toMatch(
      new RegExp(`restarted module '${crasher}' \\(restart 1\\): exited with code 1`),
    );

    // The `never` module's container is still there, exited, untouched.
    const containers = await managedContainers(docker, AGENT_ID);
    const neverContainer = containers.find((c) => moduleOf(c) === never);
    expect(neverContainer?.State.Status).toBe('exited');
    expect(containers.filter((c) => moduleOf(c) === crasher)).toHaveLength(1);

    await agent.stop();
    agent = undefined;
    // Back-off grows: restart n waits at least unit·2^(n-1) after the exit before it (unit = 1 s here).
    const store = AgentStore.open(home);
    const restarts = store
      .history(crasher, 100)
      .filter((h) => h.event === 'restarted')
      .map((h) => Date.parse(h.at))
      .reverse();
    store.close();
    expect(restarts.length).toBeGreaterThanOrEqual(3);
    const gaps = restarts.slice(1).map((t, i) => t - (restarts[i] ?? 0));
    for (const [i, gap] of gaps.entries()) expect(gap).toBeGreaterThanOrEqual(1_000 * 2 ** (i + 1));
  });
});
