/**
 * `kill -9` of the agent at random (seeded) points of a deployment, ten times: after each kill the agent
 * is started again and must converge, with exactly one container per desired module (the desired spec,
 * found by label) and no orphans. A kill point is a number of the deployment's steps done (0–3, or all
 * of them when it has fewer) plus up to 200 ms, so kills land between steps, inside them and in the
 * health verification, whatever the machine's speed.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interpretDesired } from '../../../agent/deploy/intake.js';
import { desiredModules } from '../../../agent/reconcile/desired.js';
import { specHash } from '../../../agent/reconcile/spec.js';
import { dockerClient, engineInfo, removeByLabel } from '../../support/engine/helpers.js';
import { tempDir } from '../../support/tmp.js';
import {
  type AgentRun,
  buildModuleImage,
  managedContainers,
  manifestOf,
  moduleOf,
  removeAgentContainers,
  SUITE_LABEL,
  seededRandom,
  startAgent,
  type TestModule,
  waitForReported,
  withHubAdditions,
} from './support.js';

const RUN = randomBytes(4).toString('hex');
const AGENT_ID = `kill9-${RUN}`;
const IMAGE = `modelport-test/agent-module:kill9-${RUN}`;
const SEED = Number(process.env.MODELPORT_KILL9_SEED ?? 20301);
const ROUNDS = 10;
const docker = dockerClient();
const tmp = tempDir('agent-kill9');
const manifestPath = join(tmp.path, 'deployment.json');
const home = join(tmp.path, 'home');
let agent: AgentRun | undefined;

/** The agent's JSON log lines so far. */
function logEvents(run: AgentRun): Array<{ event?: string }> {
  return run
    .logs()
    .split('\n')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as { event?: string }];
      } catch {
        return [];
      }
    });
}

/** Polls the agent's log until `found` returns a value; fails when the agent exits or 60 s pass. */
async function untilLogged<T>(run: AgentRun, found: (events: ReturnType<typeof logEvents>) => T | undefined) {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(5)) {
    const value = found(logEvents(run));
    if (value !== undefined) return value;
    if (run.process.exitCode !== null) break;
  }
  throw new Error(`the agent never logged what the kill point waits for; its log:\n${run.logs()}`);
}

beforeAll(async () => {
  await buildModuleImage(docker, engineInfo().baseImage, IMAGE, { [SUITE_LABEL]: AGENT_ID });
});

afterAll(async () => {
  await agent?.kill9();
  await removeAgentContainers(docker, AGENT_ID);
  await removeByLabel(`${SUITE_LABEL}=${AGENT_ID}`);
  tmp.cleanup();
});

/** Round r's deployment: four modules, each round changing some, adding and dropping one. */
function deploymentFor(round: number, random: () => number): Record<string, TestModule> {
  const modules: Record<string, TestModule> = {};
  for (const m of ['a', 'b', 'c', 'd']) {
    if (m === 'd' && round % 3 === 1) continue; // d comes and goes
    modules[`${m}-${RUN}`] = {
      image: IMAGE,
      startupOrder: m === 'a' ? 0 : 1,
      // `a` changes in every round (so every round is a new desired version), the others half the time.
      env: { MODULE_VERSION: String(m === 'a' || random() < 0.5 ? round : 0), ROUND_OF: m },
      ...(m === 'c' && round % 4 === 2 && { status: 'stopped' as const }),
    };
  }
  return modules;
}

function writeDeployment(modules: Record<string, TestModule>): string {
  const json = JSON.stringify(manifestOf(modules));
  writeFileSync(manifestPath, json);
  return json;
}

describe('kill -9 during a deployment', () => {
  it(`converges after every kill, ${ROUNDS} rounds (seed ${SEED}), with no duplicate or orphaned containers`, async () => {
    const random = seededRandom(SEED);
    const killPoints: string[] = [];
    let interrupted = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const json = writeDeployment(deploymentFor(round, random));
      const wanted = desiredModules(interpretDesired(json).edgeAgent);
      agent = startAgent({
        home,
        manifest: manifestPath,
        agentId: AGENT_ID,
        args: ['--health-window', '60'],
      });
      // 0–3 steps of this deployment done (startupOrder makes several plans of it), or it is verifying.
      const stepsWanted = Math.floor(random() * 4);
      const extraMs = Math.floor(random() * 200);
      const stepsDone = await untilLogged(agent, (events) => {
        const done = events.filter((e) => e.event === 'step-succeeded').length;
        const verifying = events.some((e) => e.event === 'deployment-verifying');
        return done >= stepsWanted || verifying ? done : undefined;
      });
      const killPoint = `${stepsDone} step(s) + ${extraMs} ms`;
      killPoints.push(killPoint);
      await sleep(extraMs);
      const before = agent.logs();
      await agent.kill9();
      // Killed mid-deployment: before it was verified.
      if (!before.includes('"event":"deployment-succeeded"')) interrupted++;

      agent = startAgent({
        home,
        manifest: manifestPath,
        agentId: AGENT_ID,
        args: ['--health-window', '60'],
      });
      await waitForReported(
        home,
        (r) => r.lastDesiredVersion === round && r.lastDesiredStatus?.code === 200,
        90_000,
        agent,
      );
      expect(await agent.stop(), `round ${round}: clean stop`).toBe(0);
      agent = undefined;

      const containers = await managedContainers(docker, AGENT_ID);
      const why = `round ${round}, killed after ${killPoint} (seed ${SEED}, kill points ${killPoints.join(', ')})`;
      expect(containers.map(moduleOf).sort(), why).toEqual(wanted.map((m) => m.name).sort());
      for (const m of wanted) {
        const [c] = containers.filter((x) => moduleOf(x) === m.name);
        if (!c) throw new Error(`${why}: no container for ${m.name}`);
        expect(c.Config.Labels['modelport.spec-hash'], `${why}: ${m.name} spec`).toBe(
          specHash(withHubAdditions(m, c)),
        );
        expect(c.State.Running, `${why}: ${m.name} running`).toBe(m.status === 'running');
      }
    }
    console.log(
      `kill -9 points (seed ${SEED}): ${killPoints.join(', ')}; ${interrupted} inside a deployment`,
    );
    // Most kills landed inside a deployment, not after it was verified.
    expect(interrupted, `kill points ${killPoints.join(', ')}`).toBeGreaterThanOrEqual(ROUNDS / 2);
  });
});
