/**
 * kill -9 of the process running hub + outbox during a produce burst, five times: everything the
 * hub acknowledged to the producer (a stock module client) reaches IoT Hub once it runs again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ModuleClient } from 'azure-iot-device';
import { Message } from 'azure-iot-device';
import { afterEach, describe, expect, it } from 'vitest';
import { type HubEmulator, startHubEmulator } from '../../support/iothub/index.js';
import { tempDir } from '../../support/tmp.js';
import { closeQuietly, fromEnvironment } from '../hub/harness.js';

const SCRIPT = join(import.meta.dirname, 'device-process.ts');

interface Ready {
  port: number;
  caPath: string;
  env: Record<string, string>;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function startDeviceProcess(
  config: object,
): Promise<{ child: ChildProcess; ready: Ready; stderr: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', (line) => resolve({ child, ready: JSON.parse(line) as Ready, stderr: () => stderr }));
    child.once('exit', (code) =>
      reject(new Error(`device process exited (${code}) before it was ready:\n${stderr}`)),
    );
  });
}

function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('crash safety', () => {
  it('kill -9 of hub + outbox five times during a burst: nothing acknowledged to the producer is lost', async () => {
    const iothub: HubEmulator = await startHubEmulator();
    cleanups.push(() => iothub.stop());
    iothub.createDevice('edge-1', { edge: true });
    const home = tempDir('crash');
    cleanups.push(home.cleanup);
    const config = {
      home: home.path,
      deviceId: 'edge-1',
      iotHubHostName: iothub.hostName,
      upstreamConnectionString: iothub.moduleConnectionString('edge-1', '$edgeHub'),
      iothubCaPath: iothub.caPath,
      port: 0,
      routes: { collect: 'FROM /messages/modules/scoring/outputs/collect INTO $upstream' },
    };
    let device = await startDeviceProcess(config);
    cleanups.push(() => killHard(device.child));
    config.port = device.ready.port;

    const producer: ModuleClient = await fromEnvironment({
      ...device.ready.env,
      EdgeModuleCACertificateFile: device.ready.caPath,
    });
    cleanups.push(() => closeQuietly([producer]));
    await producer.open();

    const acked = new Set<string>();
    let next = 0;
    let producing = true;
    const workers = Array.from({ length: 32 }, async () => {
      while (producing) {
        const id = `k-${next++}`;
        const m = new Message(JSON.stringify({ id, at: Date.now() }));
        m.messageId = id;
        m.contentType = 'application/json';
        try {
          await producer.sendOutputEvent('collect', m);
          acked.add(id);
        } catch {
          // Not acknowledged (the hub died under it and the SDK gave up): it may or may not arrive.
        }
      }
    });

    for (let kill = 1; kill <= 5; kill += 1) {
      const before = acked.size;
      await until(() => acked.size >= before + 300, 60_000, `acks before kill ${kill}`);
      await killHard(device.child);
      device = await startDeviceProcess(config);
      expect(device.ready.port).toBe(config.port);
    }
    const beforeStop = acked.size;
    await until(() => acked.size >= beforeStop + 300, 60_000, 'acks after the last restart');
    producing = false;
    await Promise.all(workers);

    const end = Date.now() + 120_000;
    let missing: string[] = [];
    for (;;) {
      const seen = new Set(iothub.messages().map((m) => m.systemProperties.messageId));
      missing = [...acked].filter((id) => !seen.has(id));
      if (missing.length === 0 || Date.now() > end) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(
      missing,
      `lost ${missing.length} acknowledged message(s); device stderr:\n${device.stderr()}`,
    ).toEqual([]);
    expect(acked.size).toBeGreaterThanOrEqual(1800);
  }, 360_000);
});
