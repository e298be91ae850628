/**
 * `npm run bench:agent`: the device agent on a real Docker engine (DOCKER_HOST; the test harness's dev
 * engine works: `MODELPORT_KEEP_ENGINE=1 npx vitest run --project docker test/docker/engine` starts it).
 *  1. Idle RSS of the agent process (offline mode) with 0 and with 5 modules running.
 *  2. Time from a desired change to 5 modules running (images local): a manifest file write, and a
 *     twin patch through the IoT Hub emulator (MQTT-TLS) — each against the floor measured in the same
 *     run: creating and starting the same 5 containers directly with dockerode.
 * Prints a table; exits non-zero only when something could not be measured.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import serviceSdk from 'azure-iothub';
import Docker from 'dockerode';
import {
  buildModuleImage,
  manifestOf,
  moduleInput,
  startAgent,
  type TestModule,
} from '../../test/docker/agent/support.js';
import { startHubEmulator } from '../../test/support/iothub/index.js';

const RUN = randomBytes(3).toString('hex');
const BASE_IMAGE = process.env.MODELPORT_BENCH_BASE_IMAGE ?? 'modelport-test/node-base:20';
const IMAGE = `modelport-bench/agent-module:${RUN}`;
const LABEL = { 'modelport.bench': `agent-${RUN}` };
const REPEATS = Number(process.env.MODELPORT_BENCH_REPEATS ?? 3);
const docker = new Docker();
const work = mkdtempSync(join(tmpdir(), 'modelport-bench-agent-'));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const mib = (kb: number) => (kb / 1024).toFixed(1);

function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
}

/** Median of a few RSS samples once the process has been idle for a while. */
async function idleRss(pid: number): Promise<number> {
  await sleep(8_000);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(rssKb(pid));
    await sleep(1_000);
  }
  return median(samples);
}

const fiveModules = (tag: string): Record<string, TestModule> =>
  Object.fromEntries(
    Array.from({ length: 5 }, (_, i) => [
      `bench${i}-${RUN}`,
      { image: IMAGE, env: { MODULE_VERSION: tag } } satisfies TestModule,
    ]),
  );

async function runningCount(agentId: string): Promise<number> {
  const list = await docker.listContainers({
    filters: { label: ['modelport.managed=true', `modelport.agent=${agentId}`] },
  });
  return list.filter((c) => c.State === 'running').length;
}

async function until(predicate: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function removeByLabel(label: string): Promise<void> {
  for (const c of await docker.listContainers({ all: true, filters: { label: [label] } })) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
}

/** The floor: the same 5 containers created and started directly, one after the other. */
async function directBaseline(): Promise<number> {
  const started = performance.now();
  for (const [name, m] of Object.entries(fiveModules('direct'))) {
    const input = moduleInput(name, m);
    const c = await docker.createContainer({
      name: `direct-${name}`,
      Image: IMAGE,
      Env: Object.entries(input.env ?? {}).map(([k, v]) => `${k}=${v}`),
      Labels: { ...LABEL, 'modelport.bench.direct': 'true' },
      HostConfig: { NetworkMode: 'host' },
    });
    await c.start();
  }
  const ms = performance.now() - started;
  await removeByLabel('modelport.bench.direct=true');
  return ms;
}

async function fileChangeToRunning(): Promise<{ ms: number; rss0: number; rss5: number }> {
  const agentId = `bench-file-${RUN}`;
  const home = join(work, agentId);
  const manifest = join(work, `${agentId}.json`);
  writeFileSync(manifest, JSON.stringify(manifestOf({})));
  const agent = startAgent({ home, manifest, agentId, env: { MODELPORT_LOG_LEVEL: 'warn' } });
  try {
    await until(async () => reportedCode(home) === 200, 60_000, 'the empty deployment');
    const rss0 = await idleRss(agent.process.pid as number);
    const times: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      // Each run starts from no modules, as the floor does.
      writeFileSync(manifest, JSON.stringify(manifestOf({})));
      await until(async () => (await runningCount(agentId)) === 0, 120_000, 'the modules to go');
      const t0 = performance.now();
      writeFileSync(manifest, JSON.stringify(manifestOf(fiveModules(`file-${i}`))));
      await until(
        async () => (await runningCount(agentId)) === 5 && (await allAtVersion(agentId, `file-${i}`)),
        180_000,
        '5 modules',
      );
      times.push(performance.now() - t0);
    }
    const rss5 = await idleRss(agent.process.pid as number);
    return { ms: median(times), rss0, rss5 };
  } finally {
    await agent.stop();
    await removeByLabel(`modelport.agent=${agentId}`);
  }
}

function reportedCode(home: string): number | undefined {
  try {
    return (
      JSON.parse(readFileSync(join(home, 'reported.json'), 'utf8')) as {
        lastDesiredStatus?: { code?: number };
      }
    ).lastDesiredStatus?.code;
  } catch {
    // Not written yet (or caught mid-rename): keep polling.
    return undefined;
  }
}

async function allAtVersion(agentId: string, tag: string): Promise<boolean> {
  const list = await docker.listContainers({
    filters: { label: ['modelport.managed=true', `modelport.agent=${agentId}`] },
  });
  const inspected = await Promise.all(list.map((c) => docker.getContainer(c.Id).inspect()));
  return (
    inspected.length === 5 &&
    inspected.every((c) => c.State.Running && c.Config.Env.includes(`MODULE_VERSION=${tag}`))
  );
}

async function twinPatchToRunning(): Promise<number> {
  const hub = await startHubEmulator();
  const device = `bench-${RUN}`;
  hub.createDevice(device, { edge: true });
  const home = join(work, device);
  const agent = startAgent({
    home,
    agentId: device,
    connectionString: hub.moduleConnectionString(device, '$edgeAgent'),
    ca: hub.caPath,
    env: { MODELPORT_LOG_LEVEL: 'warn' },
  });
  const registry = hub.configureServiceClient(
    serviceSdk.Registry.fromConnectionString(hub.serviceConnectionString),
  );
  try {
    await until(
      async () => hub.subscriptions(device, '$edgeAgent').includes('desired'),
      60_000,
      'the agent to subscribe',
    );
    const times: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      await registry.applyConfigurationContentOnDevice(device, manifestOf({}) as never);
      await until(async () => (await runningCount(device)) === 0, 120_000, 'the modules to go');
      const content = manifestOf(fiveModules(`twin-${i}`));
      const t0 = performance.now();
      await registry.applyConfigurationContentOnDevice(device, content as never);
      await until(
        async () => (await runningCount(device)) === 5 && (await allAtVersion(device, `twin-${i}`)),
        180_000,
        '5 modules',
      );
      times.push(performance.now() - t0);
    }
    return median(times);
  } finally {
    await agent.stop();
    await hub.stop();
    await removeByLabel(`modelport.agent=${device}`);
  }
}

async function main(): Promise<number> {
  try {
    await docker.getImage(BASE_IMAGE).inspect();
  } catch {
    process.stderr.write(
      `bench:agent needs a Docker engine (DOCKER_HOST) with the test base image ${BASE_IMAGE}; ` +
        'start the dev engine with `MODELPORT_KEEP_ENGINE=1 npx vitest run --project docker test/docker/engine`\n',
    );
    return 2;
  }
  await buildModuleImage(docker, BASE_IMAGE, IMAGE, LABEL);
  try {
    const floors: number[] = [];
    for (let i = 0; i < REPEATS; i++) floors.push(await directBaseline());
    const floor = median(floors);
    const file = await fileChangeToRunning();
    const twin = await twinPatchToRunning();
    const rows = [
      ['idle RSS, 0 modules', `${mib(file.rss0)} MiB`, ''],
      ['idle RSS, 5 modules', `${mib(file.rss5)} MiB`, ''],
      ['direct create+start of 5 containers (floor)', `${(floor / 1000).toFixed(2)} s`, '1.00×'],
      [
        'manifest file write → 5 modules running',
        `${(file.ms / 1000).toFixed(2)} s`,
        `${(file.ms / floor).toFixed(2)}×`,
      ],
      [
        'twin patch (emulator, MQTT-TLS) → 5 modules running',
        `${(twin / 1000).toFixed(2)} s`,
        `${(twin / floor).toFixed(2)}×`,
      ],
    ];
    const width = Math.max(...rows.map((r) => r[0]?.length ?? 0));
    process.stdout.write(
      `modelport-agent on ${(await docker.version()).Version}, median of ${REPEATS}, images local\n`,
    );
    process.stdout.write(`${'measure'.padEnd(width)}  ${'value'.padStart(10)}  vs floor\n`);
    for (const [name, value, ratio] of rows)
      process.stdout.write(`${(name ?? '').padEnd(width)}  ${(value ?? '').padStart(10)}  ${ratio}\n`);
    return 0;
  } finally {
    await docker
      .getImage(IMAGE)
      .remove({ force: true })
      .catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = await main();
