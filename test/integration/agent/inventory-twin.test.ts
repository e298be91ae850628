/**
 * The hardware inventory reaches the device twin (`--device-connection-string`), where an at-scale
 * deployment's target condition reads it: a deployment that targets `properties.reported.modelport
 * .inventory.arch` of this machine reaches the agent; one for another architecture does not. Real
 * `modelport-agent` binary, real azure-iot-device-mqtt, the IoT Hub emulator; no Docker engine needed
 * (the agent waits for it).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Registry } from 'azure-iothub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeployment } from '../../../manifests/index.js';
import { REPO_ROOT } from '../../support/cli.js';
import { type HubEmulator, startHubEmulator } from '../../support/iothub/index.js';
import { tempDir } from '../../support/tmp.js';

const BIN = join(REPO_ROOT, 'bin', 'modelport-agent.js');
const DEVICE = 'inventory-dev';
const tmp = tempDir('agent-inventory');
let hub: HubEmulator;
let agent: AgentProcess | undefined;

interface AgentProcess {
  child: ReturnType<typeof spawn>;
  /** stdout and stderr so far (the JSON log is on stderr). */
  log: () => string;
  closed: Promise<number | null>;
}

/** Starts the real agent binary against an engine socket that does not exist (it waits for it). */
function startAgentProcess(args: string[]): AgentProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: {
      ...process.env,
      DOCKER_HOST: `unix://${join(tmp.path, 'no-engine.sock')}`,
      MODELPORT_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (d) => {
    log += d;
  });
  child.stderr?.on('data', (d) => {
    log += d;
  });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, log: () => log, closed };
}

const deployment = (id: string, targetCondition: string, priority: number, image: string) => ({
  id,
  schemaVersion: '1.0',
  content: {
    modulesContent: buildDeployment({ modules: { scorer: { image } } }).modulesContent as Record<
      string,
      Record<string, unknown>
    >,
  },
  targetCondition,
  priority,
  labels: {},
});

beforeAll(async () => {
  hub = await startHubEmulator();
  hub.createDevice(DEVICE, { edge: true });
});

afterAll(async () => {
  agent?.child.kill('SIGKILL');
  await hub?.stop();
  tmp.cleanup();
});

describe('hardware inventory on the device twin', () => {
  it('is written to properties.reported.modelport.inventory, and a target condition on it selects the device', async () => {
    const registry = hub.configureServiceClient(Registry.fromConnectionString(hub.serviceConnectionString));
    // Before the agent runs, no deployment on the inventory applies.
    await registry.addConfiguration(
      deployment(
        'by-arch',
        `properties.reported.modelport.inventory.arch='${process.arch}'`,
        10,
        'reg.test/arch:1',
      ),
    );
    await registry.addConfiguration(
      deployment(
        'other-arch',
        "properties.reported.modelport.inventory.arch='riscv64'",
        20,
        'reg.test/riscv:1',
      ),
    );
    expect(hub.twin(DEVICE, '$edgeAgent')).not.toMatchObject({
      properties: { desired: { modules: { scorer: expect.anything() } } },
    });

    agent = startAgentProcess([
      '--connection-string',
      hub.moduleConnectionString(DEVICE, '$edgeAgent'),
      '--device-connection-string',
      hub.deviceConnectionString(DEVICE),
      '--ca',
      hub.caPath,
      '--home',
      join(tmp.path, 'home'),
      '--interval',
      '1',
      '--telemetry-interval',
      '0',
    ]);
    const output = agent.log;

    await expect
      .poll(
        () => (hub.twin(DEVICE) as { properties: { reported: Record<string, unknown> } }).properties.reported,
        {
          timeout: 90_000,
          interval: 200,
        },
      )
      .toMatchObject({
        modelport: {
          inventory: {
            arch: process.arch,
            cpu: { cores: expect.any(Number) },
            memory: { totalMiB: expect.any(Number) },
          },
        },
      });

    // The emulator re-evaluates target conditions when reported properties change, as IoT Hub does
    // on its next pass: the deployment for this architecture is applied, the other is not.
    await expect
      .poll(() => hub.twin(DEVICE, '$edgeAgent'), { timeout: 90_000, interval: 200 })
      .toMatchObject({
        properties: { desired: { modules: { scorer: { settings: { image: 'reg.test/arch:1' } } } } },
      });
    const configurations = (hub.twin(DEVICE) as { configurations?: Record<string, { status: string }> })
      .configurations;
    expect(configurations?.['by-arch']?.status, output()).toBe('Applied');
    expect(configurations?.['other-arch']).toBeUndefined();
    // And the agent took it in (it waits for the engine to run it).
    await expect.poll(output, { timeout: 90_000 }).toMatch(/"event":"deployment-started"/);
    expect(output()).toMatch(/"event":"inventory-published"/);
  }, 240_000);

  it('refuses a module connection string given as the device one (exit 2, the flag named)', async () => {
    const refused = startAgentProcess([
      '--connection-string',
      hub.moduleConnectionString(DEVICE, '$edgeAgent'),
      '--device-connection-string',
      hub.moduleConnectionString(DEVICE, '$edgeAgent'),
      '--home',
      join(tmp.path, 'home2'),
    ]);
    const r = { code: await refused.closed, stderr: refused.log() };
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--device-connection-string names module '\$edgeAgent'/);
  }, 240_000);

  it('stops on SIGTERM (exit 0) while IoT Hub is unreachable and the inventory is still unwritten', async () => {
    const closedHub = hub.deviceConnectionString(DEVICE).replace(/HostName=[^;]+/, 'HostName=localhost:1');
    const { child, log, closed } = startAgentProcess([
      '--connection-string',
      hub.moduleConnectionString(DEVICE, '$edgeAgent').replace(/HostName=[^;]+/, 'HostName=localhost:1'),
      '--device-connection-string',
      closedHub,
      '--ca',
      hub.caPath,
      '--home',
      join(tmp.path, 'home3'),
    ]);
    // Stop once an inventory write has failed: the next attempt waits in its back-off.
    await expect.poll(log, { timeout: 90_000 }).toMatch(/"event":"inventory-publish-failed"/);
    child.kill('SIGTERM');
    // The vitest timeout is the bound: the SDK's own retries would keep it alive for minutes.
    expect(await closed, log()).toBe(0);
    expect(log()).not.toMatch(/"event":"inventory-published"/);
  }, 240_000);

  it('says so when the --ca file cannot be read, keeps running, and stops cleanly', async () => {
    const { child, log, closed } = startAgentProcess([
      '--connection-string',
      hub.moduleConnectionString(DEVICE, '$edgeAgent'),
      '--ca',
      join(tmp.path, 'missing-ca.pem'),
      '--home',
      join(tmp.path, 'home4'),
    ]);
    await expect.poll(log, { timeout: 60_000 }).toMatch(/"event":"ca-file-unreadable"/);
    expect(log()).toMatch(/cannot read the --ca file .*missing-ca\.pem/);
    // Still running: the agent goes on to its passes (and its IoT Hub connection keeps failing).
    await expect.poll(log, { timeout: 60_000 }).toMatch(/"event":"agent-started"/);
    child.kill('SIGTERM');
    expect(await closed, log()).toBe(0);
  }, 240_000);
});
