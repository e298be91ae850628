/**
 * Continuous deployment end to end, with the real registry, engine, images and agent:
 * 1. offline: `modelport watch --manifest-out` packages and pushes v1 (retrying while the registry is
 *    down, writing nothing until the push succeeded), an offline agent runs it; registering v2 (other
 *    weights) makes the module answer with v2's predictions, with no failed request during the swap;
 * 2. the same through the IoT Hub emulator: `watch --hub-connection-string` deploys v2 (already
 *    pushed: no packaging) at scale to an agent in hub mode; registering v3 swaps it the same way;
 * 3. a restarted watch deploys nothing again; a gate that rejects (through `model register
 *    --deploy-spec`) and a dry run change nothing.
 * One model home and one registry repository throughout, so each version is packaged once.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectOk,
  manifestModule,
  registerVersion,
  startWatch,
  type WatchRun,
  weightsOf,
} from '../../integration/watch/helpers.js';
import { runModelport } from '../../support/cli.js';
import { dockerClient, engineInfo, freePort } from '../../support/engine/helpers.js';
import { GUIDE_SAMPLE } from '../../support/fixture-reference.js';
import { type HubEmulator, startHubEmulator } from '../../support/iothub/index.js';
import { tempDir } from '../../support/tmp.js';
import {
  type AgentRun,
  managedContainers,
  removeAgentContainers,
  startAgent,
  waitForReported,
} from '../agent/support.js';
import { registryTags, removeImages } from '../package/helpers.js';
import { type Forwarder, tcpForwarder } from './forwarder.js';
import { type LoadRun, startLoad } from './load.js';

const RUN = randomBytes(4).toString('hex');
const MODULE = `scorer-${RUN}`;
const OFFLINE_AGENT = `watch-offline-${RUN}`;
const DEVICE = `watch-edge-${RUN}`;
const REPOSITORY = `modelport-watch-${RUN}/scoring`;
const docker = dockerClient();
const tmp = tempDir('watch-e2e');
const home = join(tmp.path, 'modelport-home');
const env = { MODELPORT_HOME: home };
const manifest = join(tmp.path, 'deployment.json');
let forwarder: Forwarder;
let specPath = '';
let offlinePort = 0;
let image = (tag: string) => tag;
let watch: WatchRun | undefined;
let agent: AgentRun | undefined;
let load: LoadRun | undefined;
let hub: HubEmulator | undefined;

/** What version `n` predicts for the first row of the guide's sample (y = x·w + b). */
function expected(n: number): string {
  const { weights, bias } = weightsOf(n);
  const row = GUIDE_SAMPLE[0] ?? [];
  return (row.reduce((sum, x, i) => sum + x * (weights[i] ?? 0), 0) + bias).toFixed(2);
}
const firstPrediction = (body: string) => ((JSON.parse(body) as number[][])[0]?.[0] ?? Number.NaN).toFixed(2);

/** The spec: regression10:latest on the host network, HEALTHCHECK every second, images through the forwarder. */
function writeSpec(path: string, port: number, extra: string[] = []): string {
  writeFileSync(
    path,
    [
      `name: watch-e2e-${RUN}`,
      'modules:',
      `  ${MODULE}:`,
      '    models: ["regression10:latest"]',
      `    env: {MODELPORT_PORT: "${port}"}`,
      '    createOptions:',
      '      HostConfig: {NetworkMode: host}',
      '      Healthcheck:',
      `        Test: ["CMD", "node", "-e", "fetch('http://127.0.0.1:'+process.env.MODELPORT_PORT+'/').then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]`,
      '        Interval: 1000000000',
      '        Timeout: 5000000000',
      '        Retries: 3',
      'rollout:',
      `  imageRepository: 127.0.0.1:${forwarder.port}/${REPOSITORY}`,
      `  baseImage: ${engineInfo().baseImage}`,
      ...extra,
      '',
    ].join('\n'),
  );
  return path;
}

async function score(port: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: GUIDE_SAMPLE }),
    });
    return res.status === 200 ? firstPrediction(await res.text()) : `HTTP ${res.status}`;
  } catch {
    return undefined; // not serving yet
  }
}

/** ms from the start of the last `createBehindProxy` step to the end of the last `remove` step. */
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

/** Runs a keep-alive load through the swap to version `to` and checks it: 0 failures, old → new, never back. */
async function swapUnderLoad(port: number, from: number, to: number, trigger: () => Promise<void>) {
  load = startLoad({
    port,
    path: '/score',
    connections: 4,
    body: { data: GUIDE_SAMPLE },
    read: firstPrediction,
  });
  await load.until((answers) => answers.length >= 20);
  await trigger();
  await load.until((answers) => answers.filter((a) => a === expected(to)).length >= 40, 300_000);
  const result = await load.stop();
  load = undefined;
  expect(result.failures, result.failures.slice(0, 5).join('\n')).toEqual([]);
  for (const seen of result.perConnection) {
    const switched = seen.indexOf(expected(to));
    expect(switched, 'each connection saw the new version').toBeGreaterThanOrEqual(0);
    expect(seen.slice(0, switched).every((a) => a === expected(from))).toBe(true);
    expect(
      seen.slice(switched).every((a) => a === expected(to)),
      'never the old version after the new one',
    ).toBe(true);
  }
  return result;
}

beforeAll(async () => {
  const registry = engineInfo().registry;
  const [host, port] = registry.split(':');
  forwarder = tcpForwarder(await freePort(), { host: host ?? '127.0.0.1', port: Number(port) });
  image = (tag) => `127.0.0.1:${forwarder.port}/${REPOSITORY}:${tag}`;
  expectOk(await registerVersion(home, 'regression10', 1));
}, 120_000);

afterAll(async () => {
  await load?.stop();
  await watch?.stop();
  await agent?.stop();
  await hub?.stop();
  hub?.httpsAgent.destroy();
  await removeAgentContainers(docker, OFFLINE_AGENT);
  await removeAgentContainers(docker, DEVICE);
  await removeImages(
    docker,
    [1, 2, 3].map((n) => image(`regression10-v${n}`)),
  );
  await forwarder.stop();
  tmp.cleanup();
});

describe('modelport watch: continuous deployment end to end', () => {
  it('offline: retries the push until the registry is up, then swaps v1 → v2 with no failed request', async () => {
    const port = await freePort();
    offlinePort = port;
    specPath = writeSpec(join(tmp.path, 'deployment.yaml'), port);
    watch = startWatch(['--spec', specPath, '--manifest-out', manifest, '--interval', '1'], env);
    // The registry is "down": the push fails, is reported and retried; no manifest is written.
    const failed = await watch.waitForEvent((e) => e['event'] === 'step-failed', 300_000);
    expect(failed['step']).toBe(`package:${image('regression10-v1')}`);
    await watch.waitForEvent((e) => e['event'] === 'retry-scheduled');
    expect(existsSync(manifest)).toBe(false);
    await forwarder.start();
    await watch.waitForEvent((e) => e['event'] === 'deployed', 300_000);
    expect(await registryTags(engineInfo().registry, REPOSITORY)).toEqual(['regression10-v1']);
    expect(manifestModule(manifest, MODULE).image).toBe(image('regression10-v1'));

    agent = startAgent({
      home: join(tmp.path, 'agent-offline'),
      manifest,
      agentId: OFFLINE_AGENT,
      args: ['--health-window', '180'],
    });
    await waitForReported(
      join(tmp.path, 'agent-offline'),
      (r) => r.lastDesiredStatus?.code === 200,
      240_000,
      agent,
    );
    await expect.poll(() => score(port), { timeout: 60_000 }).toBe(expected(1));

    const result = await swapUnderLoad(port, 1, 2, async () => {
      expectOk(await registerVersion(home, 'regression10', 2));
    });
    await watch.waitForEvent(
      (e) => e['event'] === 'deployed' && JSON.stringify(e['models']).includes('regression10:2'),
    );
    await waitForReported(
      join(tmp.path, 'agent-offline'),
      (r) => r.lastDesiredVersion === 2 && r.lastDesiredStatus?.code === 200,
      120_000,
      agent,
    );
    const containers = await managedContainers(docker, OFFLINE_AGENT);
    expect(containers.map((c) => c.Config.Image)).toEqual([image('regression10-v2')]);
    console.log(
      `offline swap v1 → v2: ${result.total} scoring requests over 4 keep-alive connections, 0 failed; ` +
        `agent: new container created → old one removed in ${swapMs(agent.logs())} ms`,
    );

    const stopped = await watch.stop();
    watch = undefined;
    expect(stopped.code).toBe(0);
    expect(stopped.doc.result).toMatchObject({ rollouts: 2 });

    // Restarted, the watch finds the target holding what it deployed: nothing packaged, nothing written.
    const written = readFileSync(manifest, 'utf8');
    const mtime = statSync(manifest).mtimeMs;
    const again = await runModelport(
      ['watch', '--spec', specPath, '--manifest-out', manifest, '--once', '--json'],
      env,
    );
    expectOk(again);
    expect(again.json().result.outcome).toBe('unchanged');
    expect(again.stderr).not.toMatch(/"step-started"/);
    expect([readFileSync(manifest, 'utf8'), statSync(manifest).mtimeMs]).toEqual([written, mtime]);

    expect(await agent.stop()).toBe(0);
    agent = undefined;
    await removeAgentContainers(docker, OFFLINE_AGENT);
  }, 900_000);

  it('IoT Hub: deploys the pushed v2 at scale to an agent in hub mode, then swaps v2 → v3', async () => {
    hub = await startHubEmulator();
    hub.createDevice(DEVICE, { edge: true });
    hub.updateTwin(DEVICE, undefined, { tags: { e2e: RUN } });
    const port = await freePort();
    const spec = writeSpec(join(tmp.path, 'hub.yaml'), port);
    const agentHome = join(tmp.path, 'agent-hub');
    agent = startAgent({
      home: agentHome,
      agentId: DEVICE,
      connectionString: hub.moduleConnectionString(DEVICE, '$edgeAgent'),
      ca: hub.caPath,
      args: ['--health-window', '180'],
    });
    const caCopy = join(tmp.path, 'hub-ca.pem');
    writeFileSync(caCopy, hub.ca);
    watch = startWatch(
      [
        '--spec',
        spec,
        '--hub-connection-string',
        hub.serviceConnectionString,
        '--hub-ca',
        caCopy,
        '--target-condition',
        `tags.e2e='${RUN}'`,
        '--remove-previous',
        '--interval',
        '1',
      ],
      env,
    );
    const first = await watch.waitForEvent((e) => e['event'] === 'deployed', 120_000);
    // v2 was pushed by the offline rollout: nothing was packaged for this one.
    expect(watch.events().filter((e) => String(e['step'] ?? '').startsWith('package:'))).toEqual([]);
    expect(first['priority']).toBe(10);
    await waitForReported(agentHome, (r) => r.lastDesiredStatus?.code === 200, 240_000, agent);
    await expect.poll(() => score(port), { timeout: 60_000 }).toBe(expected(2));

    const result = await swapUnderLoad(port, 2, 3, async () => {
      expectOk(await registerVersion(home, 'regression10', 3));
    });
    const second = await watch.waitForEvent((e) => e['event'] === 'deployed' && e['priority'] === 11);
    expect(String(second['message'])).toMatch(new RegExp(`removed ${first['deploymentId']}`));
    await expect
      .poll(async () => (await managedContainers(docker, DEVICE)).map((c) => c.Config.Image), {
        timeout: 120_000,
      })
      .toEqual([image('regression10-v3')]);
    console.log(
      `IoT Hub swap v2 → v3: ${result.total} scoring requests, 0 failed; ` +
        `agent: new container created → old one removed in ${swapMs(agent.logs())} ms`,
    );
    expect((await watch.stop()).code).toBe(0);
    watch = undefined;
    expect(await agent.stop()).toBe(0);
    agent = undefined;
  }, 900_000);

  it('a rejecting gate (model register --deploy-spec) and a dry run change nothing', async () => {
    const written = readFileSync(manifest, 'utf8');
    const mtime = statSync(manifest).mtimeMs;
    const gate = join(tmp.path, 'gate.sh');
    writeFileSync(gate, '#!/bin/sh\necho "v$MODELPORT_MODEL_VERSION: accuracy 0.41 < 0.90" >&2\nexit 1\n');
    chmodSync(gate, 0o755);
    // The offline target holds v2; the gate rejects the newest version, so it stays on v2.
    const gated = writeSpec(join(tmp.path, 'gated.yaml'), offlinePort, ['  gate: gate.sh']);
    const four = await registerVersion(home, 'regression10', 4, [
      '--deploy-spec',
      gated,
      '--manifest-out',
      manifest,
    ]);
    expectOk(four);
    expect(four.json().result.deployment).toMatchObject({
      outcome: 'rejected',
      gate: [{ version: 4, accepted: false, detail: 'v4: accuracy 0.41 < 0.90' }],
      rollout: { models: [{ model: 'regression10:2' }] },
    });

    // Without the gate, v4 would be packaged and written: the dry run says so and does neither.
    const dry = await runModelport(
      ['watch', '--spec', specPath, '--manifest-out', manifest, '--dry-run', '--json'],
      env,
    );
    expectOk(dry);
    expect(dry.json().result.steps.map((s: { id: string }) => s.id)).toEqual([
      `package:${image('regression10-v4')}`,
      expect.stringMatching(/^generate:/),
      expect.stringMatching(/^apply:/),
    ]);
    expect([readFileSync(manifest, 'utf8'), statSync(manifest).mtimeMs]).toEqual([written, mtime]);
    expect((await registryTags(engineInfo().registry, REPOSITORY)).sort()).toEqual([
      'regression10-v1',
      'regression10-v2',
      'regression10-v3',
    ]);
  }, 300_000);
});
