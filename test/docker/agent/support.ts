/**
 * Helpers for the agent's Docker tests: a tiny module image built in-test from the base image, manifests
 * written with manifests/ buildDeployment, the real agent process (bin/modelport-agent.js → dist), and
 * waits on its reported properties (reported.json) and on containers found by label.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import type { DesiredModule } from '../../../agent/reconcile/types.js';
import { buildDeployment, type DeploymentInput, type ModuleInput } from '../../../manifests/index.js';

export const ROOT = join(import.meta.dirname, '..', '..', '..');
export const SUITE_LABEL = 'modelport.test.suite';

/**
 * The module the tests run: MODE=serve (GET / → 200 "Healthy <MODULE_VERSION>" on MODELPORT_PORT, or
 * idle without a port), crash (logs an error and exits with EXIT_CODE after CRASH_AFTER_MS), unhealthy
 * (GET / → 503), exit (exits at once with EXIT_CODE). Logs pino-style JSON lines.
 */
export const MODULE_SCRIPT = `
const http = require('http');
const mode = process.env.MODE || 'serve';
const port = Number(process.env.MODELPORT_PORT || 0);
const log = (level, msg) => console.log(JSON.stringify({ level, time: Date.now(), msg }));
log(30, 'module ' + (process.env.IOTEDGE_MODULE || '?') + ' starting, mode ' + mode);
const code = Number(process.env.EXIT_CODE || 1);
if (mode === 'exit') process.exit(code);
if (mode === 'crash') {
  setTimeout(() => { log(50, process.env.CRASH_MESSAGE || 'simulated crash'); process.exit(code); }, Number(process.env.CRASH_AFTER_MS || 300));
}
if (port) {
  http.createServer((req, res) => {
    if (mode === 'unhealthy') { res.statusCode = 503; return res.end('Unhealthy'); }
    res.end('Healthy ' + (process.env.MODULE_VERSION || ''));
  }).listen(port, '127.0.0.1', () => log(30, 'listening on ' + port));
} else setInterval(() => {}, 60000);
process.on('SIGTERM', () => { log(30, 'stopping'); process.exit(0); });
`;

/** Builds the test module image FROM the base image, labelled for cleanup. */
export async function buildModuleImage(
  docker: Docker,
  baseImage: string,
  tag: string,
  labels: Record<string, string>,
) {
  const pack = tar.pack();
  pack.entry(
    { name: 'Dockerfile' },
    [
      `FROM ${baseImage}`,
      'COPY module.js /opt/module.js',
      'USER 10001',
      'CMD ["node", "/opt/module.js"]',
      '',
    ].join('\n'),
  );
  pack.entry({ name: 'module.js' }, MODULE_SCRIPT);
  pack.finalize();
  const stream = await docker.buildImage(Readable.from(pack), { t: tag, labels, rm: true, forcerm: true });
  const output = await new Promise<{ error?: string; stream?: string }[]>((resolve, reject) =>
    docker.modem.followProgress(stream, (err, res) => (err ? reject(err) : resolve(res))),
  );
  const failed = output.find((o) => o.error);
  if (failed) throw new Error(`building ${tag} failed: ${failed.error}`);
}

/** Builds a folder as an image (classic builder), failing with the builder's own error. */
export async function buildFolder(
  d: Docker,
  dir: string,
  tag: string,
  options: { buildargs?: Record<string, string>; platform?: string; labels?: Record<string, string> },
): Promise<void> {
  const tarProcess = spawn('tar', ['-C', dir, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stream = await d.buildImage(tarProcess.stdout as Readable, {
    t: tag,
    rm: true,
    forcerm: true,
    ...options,
  });
  const output = await new Promise<{ error?: string }[]>((resolve, reject) =>
    d.modem.followProgress(stream, (err, res) => (err ? reject(err) : resolve(res))),
  );
  const failed = output.find((o) => o.error);
  if (failed) throw new Error(`building ${tag} failed: ${failed.error}`);
}

/** Pushes `tag` (a `registry/…` reference) to the loopback registry. */
export async function pushImage(docker: Docker, tag: string): Promise<void> {
  const stream = await docker
    .getImage(tag)
    .push({ authconfig: { username: 'test', password: 'test', serveraddress: tag.split('/')[0] } });
  const output = await new Promise<{ error?: string }[]>((resolve, reject) =>
    docker.modem.followProgress(stream, (err, res) => (err ? reject(err) : resolve(res))),
  );
  const failed = output.find((o) => o.error);
  if (failed) throw new Error(`pushing ${tag} failed: ${failed.error}`);
}

export interface TestModule {
  image: string;
  mode?: 'serve' | 'crash' | 'unhealthy' | 'exit';
  port?: number;
  env?: Record<string, string>;
  version?: string;
  status?: 'running' | 'stopped';
  restartPolicy?: ModuleInput['restartPolicy'];
  startupOrder?: number;
  imagePullPolicy?: ModuleInput['imagePullPolicy'];
  /** Docker HEALTHCHECK through createOptions: GET / every second. */
  healthcheck?: boolean;
}

export function moduleInput(name: string, m: TestModule): ModuleInput {
  return {
    image: m.image,
    env: {
      IOTEDGE_MODULE: name,
      MODE: m.mode ?? 'serve',
      ...(m.port !== undefined && { MODELPORT_PORT: m.port }),
      ...m.env,
    },
    createOptions: {
      HostConfig: { NetworkMode: 'host' },
      ...(m.healthcheck && {
        Healthcheck: {
          Test: [
            'CMD',
            'node',
            '-e',
            "fetch('http://127.0.0.1:'+process.env.MODELPORT_PORT+'/').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))",
          ],
          Interval: 1_000_000_000,
          Timeout: 2_000_000_000,
          Retries: 1,
          StartPeriod: 0,
        },
      }),
    },
    ...(m.version !== undefined && { version: m.version }),
    ...(m.status !== undefined && { status: m.status }),
    ...(m.restartPolicy !== undefined && { restartPolicy: m.restartPolicy }),
    ...(m.startupOrder !== undefined && { startupOrder: m.startupOrder }),
    ...(m.imagePullPolicy !== undefined && { imagePullPolicy: m.imagePullPolicy }),
  };
}

export function manifestOf(
  modules: Record<string, TestModule>,
  extra: Omit<DeploymentInput, 'modules'> = {},
) {
  return buildDeployment({
    ...extra,
    modules: Object.fromEntries(Object.entries(modules).map(([name, m]) => [name, moduleInput(name, m)])),
  });
}

export function writeManifest(path: string, modules: Record<string, TestModule>): void {
  writeFileSync(path, JSON.stringify(manifestOf(modules), null, 2));
}

export interface AgentRun {
  process: ChildProcess;
  exited: Promise<number | null>;
  /** Everything the agent logged so far (JSON lines). */
  logs(): string;
  /** SIGTERM and wait: the exit code. */
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
}

export interface AgentArgs {
  home: string;
  agentId: string;
  manifest?: string;
  connectionString?: string;
  ca?: string;
  args?: string[];
  env?: Record<string, string>;
}

/** Spawns the real agent (`node bin/modelport-agent.js`) with fast test settings. */
export function startAgent(a: AgentArgs): AgentRun {
  const args = [
    join(ROOT, 'bin', 'modelport-agent.js'),
    ...(a.manifest ? ['--manifest', a.manifest] : []),
    ...(a.connectionString ? ['--connection-string', a.connectionString] : []),
    ...(a.ca ? ['--ca', a.ca] : []),
    '--home',
    a.home,
    '--agent-id',
    a.agentId,
    '--interval',
    '1',
    '--health-stable',
    '1',
    '--restart-cool-off',
    '1',
    '--stop-timeout',
    '2',
    ...(a.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, MODELPORT_LOG_LEVEL: 'debug', ...a.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    process: child,
    exited,
    logs: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill9: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export type Reported = Record<string, unknown> & {
  lastDesiredVersion?: number;
  lastDesiredStatus?: { code: number; description: string };
  modules?: Record<
    string,
    Record<string, unknown> & { runtimeStatus: string; statusDescription: string; restartCount: number }
  >;
};

export function readReported(home: string): Reported | undefined {
  const path = join(home, 'reported.json');
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Reported;
  } catch {
    // Caught between write and rename of another copy: read it again next time.
    return undefined;
  }
}

/** Polls reported.json until `predicate` holds; on timeout the error shows the last document and logs. */
export async function waitForReported(
  home: string,
  predicate: (r: Reported) => boolean,
  timeoutMs: number,
  agent?: AgentRun,
): Promise<Reported> {
  const deadline = Date.now() + timeoutMs;
  let last: Reported | undefined;
  while (Date.now() < deadline) {
    last = readReported(home);
    if (last && predicate(last)) return last;
    if (agent && agent.process.exitCode !== null) break;
    await sleep(200);
  }
  const tail = agent?.logs().split('\n').slice(-40).join('\n') ?? '';
  throw new Error(
    `reported properties never matched; last:\n${JSON.stringify(last, null, 2)}\nagent log tail:\n${tail}`,
  );
}

/** The agent's containers, found by label, inspected. */
export async function managedContainers(
  docker: Docker,
  agentId: string,
): Promise<Docker.ContainerInspectInfo[]> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: ['modelport.managed=true', `modelport.agent=${agentId}`] },
  });
  return Promise.all(list.map((c) => docker.getContainer(c.Id).inspect()));
}

export const moduleOf = (c: Docker.ContainerInspectInfo) => c.Config.Labels['modelport.module'] ?? '';

/** Removes every container of this agent (afterAll). */
export async function removeAgentContainers(docker: Docker, agentId: string): Promise<void> {
  for (const c of await managedContainers(docker, agentId)) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  }
}

export async function httpText(url: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return { status: res.status, body: await res.text() };
  } catch {
    // Not listening (yet): callers poll.
    return undefined;
  }
}

/** A small seeded PRNG (mulberry32): the kill points of a run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Env keys the agent's local hub adds to every module (agent/hub/hub.ts `moduleEnvironment`). */
const HUB_ENV = /^(EdgeHubConnectionString|EdgeModuleCACertificateFile|IOTEDGE_[A-Z]+)$/;

/**
 * The desired module as the agent completes it before hashing: the manifest's env plus what its local
 * hub adds (per-module keys and port, read back from the container) and the CA bind. The manifest's
 * own parts (image, env values, createOptions, version) still come from the manifest, so a container
 * left with an old spec hashes differently.
 */
export function withHubAdditions(m: DesiredModule, c: Docker.ContainerInspectInfo): DesiredModule {
  const added: Record<string, string> = {};
  for (const entry of c.Config.Env ?? []) {
    const key = entry.slice(0, entry.indexOf('='));
    if (HUB_ENV.test(key)) added[key] = entry.slice(entry.indexOf('=') + 1);
  }
  const binds = (c.HostConfig.Binds ?? []).filter((b) => b.includes(':/modelport/'));
  return { ...m, env: { ...m.env, ...added }, binds };
}
