/**
 * The real `modelport-agent` binary's edges: --version, usage errors and their exit codes, and a
 * clean stop on SIGTERM (exit 0) with a manifest whose Docker engine is not reachable.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHub } from '../../../agent/hub/hub.js';
import { openOutbox } from '../../../agent/upstream/open-outbox.js';
import { silentLogger } from '../../../common/logger.js';
import { buildDeployment } from '../../../manifests/index.js';
import { REPO_ROOT } from '../../support/cli.js';
import { tempDir } from '../../support/tmp.js';
import { closeQuietly, fromEnvironment, jsonMessage } from '../hub/harness.js';

const BIN = join(REPO_ROOT, 'bin', 'modelport-agent.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  stopAfter?: (output: string) => boolean,
): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let stopping = false;
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!stopping && stopAfter?.(stderr)) {
        stopping = true;
        child.kill('SIGTERM');
      }
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir('agent-cli');
});
afterEach(() => tmp.cleanup());

describe('modelport-agent binary', () => {
  it('prints its version', async () => {
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it.each([
    [[], /give exactly one of --manifest FILE \(offline\) or --connection-string CS/],
    [['--manifest', 'a.json', '--max-restarts', 'many'], /--max-restarts/],
    [['--connection-string', 'HostName=h;DeviceId=d;ModuleId=$edgeAgent'], /lacks SharedAccessKey/],
  ])('exits 2 on %j', async (args, message) => {
    const r = await run(args, { MODELPORT_AGENT_HOME: tmp.path });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('stops cleanly on SIGTERM (exit 0), keeping what it was told while Docker is unreachable', async () => {
    const manifest = join(tmp.path, 'deployment.json');
    writeFileSync(
      manifest,
      JSON.stringify(buildDeployment({ modules: { mod1: { image: 'reg.test/m:1' } } })),
    );
    const r = await run(
      ['--manifest', manifest, '--home', join(tmp.path, 'home'), '--interval', '1'],
      { DOCKER_HOST: `unix://${join(tmp.path, 'no-engine.sock')}`, MODELPORT_LOG_LEVEL: 'info' },
      // A pass that failed after the deployment was taken in: it is waiting for the engine.
      (output) =>
        output.indexOf('"event":"pass-failed"', output.indexOf('"event":"deployment-started"')) > 0 &&
        output.includes('"event":"deployment-started"'),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/desired version 1 received/);
    expect(r.stderr).toMatch(/docker list containers failed/);
    expect(r.stderr).toMatch(/received SIGTERM, stopping \(containers keep running\)/);
  });

  it('goes on without /metrics when its port is taken (warning, no exit)', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const manifest = join(tmp.path, 'deployment.json');
      writeFileSync(manifest, JSON.stringify(buildDeployment({ modules: {} })));
      const r = await run(
        ['--manifest', manifest, '--home', join(tmp.path, 'home'), '--metrics-port', String(port)],
        { DOCKER_HOST: `unix://${join(tmp.path, 'no-engine.sock')}`, MODELPORT_LOG_LEVEL: 'info' },
        (output) => output.includes('"event":"metrics-port-unavailable"'),
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/no \/metrics endpoint: cannot listen on 127\.0\.0\.1:\d+/);
    } finally {
      taken.close();
    }
  });

  it('runs with an outbox it cannot open (reported, /metrics), recovers once it can, and counts expiry', async () => {
    const home = join(tmp.path, 'home');
    const [hubPort = 0, metricsPort = 0] = await freePorts(2);
    // The module's identity, made beforehand on the same home and port (the agent keeps it).
    const scratch = await openOutbox({
      path: join(tmp.path, 'scratch.db'),
      capBytes: 1 << 20,
      log: silentLogger(),
    });
    const hub = await startHub({
      home,
      deviceId: 'local',
      iotHubHostName: 'localhost',
      port: hubPort,
      outbox: scratch,
      log: silentLogger(),
    });
    const env = { ...hub.moduleEnvironment('scoring').env, EdgeModuleCACertificateFile: hub.caPath };
    await hub.close();
    scratch.close();
    const outboxPath = join(home, 'outbox.db');
    mkdirSync(outboxPath);
    const manifest = join(tmp.path, 'deployment.json');
    writeFileSync(
      manifest,
      JSON.stringify(
        buildDeployment({
          modules: { scoring: { image: 'reg.test/scoring:1' } },
          // Nothing carries messages upstream offline: with a 1 s time to live they expire.
          routes: { all: { route: 'FROM /messages/* INTO $upstream', timeToLiveSecs: 1 } },
        }),
      ),
    );
    const child = spawn(
      process.execPath,
      [
        BIN,
        ...['--manifest', manifest, '--home', home, '--interval', '1', '--telemetry-interval', '0'],
        ...['--hub-port', String(hubPort), '--metrics-port', String(metricsPort)],
      ],
      {
        env: {
          ...process.env,
          DOCKER_HOST: `unix://${join(tmp.path, 'no-engine.sock')}`,
          MODELPORT_LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      const metric = async (line: RegExp): Promise<number | undefined> => {
        const text = await scrape(metricsPort);
        const m = text?.match(line);
        return m ? Number(m[1]) : undefined;
      };
      await expect
        .poll(() => metric(/^modelport_agent_outbox_status\{status="unavailable"\} (\d+)$/m), {
          timeout: 20_000,
        })
        .toBe(1);
      expect(stderr).toMatch(/"event":"outbox-unavailable"/);
      await expect
        .poll(() => readJson(join(home, 'edgehub-reported.json'))?.storeAndForward?.status, {
          timeout: 10_000,
        })
        .toBe('unavailable');
      expect(child.exitCode).toBeNull();

      rmdirSync(outboxPath);
      await expect
        .poll(() => metric(/^modelport_agent_outbox_status\{status="ok"\} (\d+)$/m), { timeout: 60_000 })
        .toBe(1);
      expect(await metric(/^modelport_agent_outbox_dropped_messages_total\{reason="expired"\} (\d+)$/m)).toBe(
        0,
      );
      const scoring = await fromEnvironment(env);
      try {
        await scoring.open();
        await scoring.sendOutputEvent('collect', await jsonMessage({ n: 1 }, {}, 'expires-1'));
        expect(await metric(/^modelport_agent_outbox_enqueued_messages_total (\d+)$/m)).toBe(1);
        expect(await metric(/^modelport_agent_hub_messages_received_total (\d+)$/m)).toBe(1);
        expect(await metric(/^modelport_agent_hub_connected_modules (\d+)$/m)).toBe(1);
        // The outbox sweeps expired messages every 10 s.
        await expect
          .poll(() => metric(/^modelport_agent_outbox_dropped_messages_total\{reason="expired"\} (\d+)$/m), {
            timeout: 30_000,
          })
          .toBe(1);
        expect(await metric(/^modelport_agent_outbox_queued_messages (\d+)$/m)).toBe(0);
      } finally {
        await closeQuietly([scoring]);
      }
      // (The agent's own reported.json, with its `modelport.outbox` section, is written by passes,
      // which need a Docker engine: see test/unit/hub/reported-outbox.test.ts.)
    } finally {
      stop(child);
      expect(await exited, stderr).toBe(0);
    }
  }, 150_000);
});

function stop(child: ChildProcess): void {
  if (child.exitCode === null) child.kill('SIGTERM');
}

async function scrape(port: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    return res.ok ? await res.text() : undefined;
  } catch {
    // Not listening yet.
    return undefined;
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the agent's documents are read by path in assertions
function readJson(path: string): Record<string, any> | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    // Written by rename, so whole; a poll may still race the first write on some file systems.
    return undefined;
  }
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, async () => {
      const s = createServer();
      await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
      return s;
    }),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}
