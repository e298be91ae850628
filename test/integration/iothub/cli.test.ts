/**
 * `npm run hub-emulator` (test/support/iothub/cli.ts) as a person would run it: it prints working
 * connection strings and a CA file, serves real SDK clients, and stops cleanly on Ctrl-C.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Client as DeviceClient } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import { Registry } from 'azure-iothub';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmulatorHttpsAgent, useHttpsAgent } from '../../support/iothub/index.js';

const CLI = path.resolve('test/support/iothub/cli.ts');
let child: ChildProcess | undefined;

afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
});

function waitForOutput(proc: ChildProcess, marker: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(
      () => reject(new Error(`no '${marker}' within ${timeoutMs} ms; got:\n${text}`)),
      timeoutMs,
    );
    proc.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes(marker)) {
        clearTimeout(timer);
        resolve(text);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before '${marker}':\n${text}`));
    });
  });
}

describe('npm run hub-emulator', () => {
  it('prints connection strings and the CA path that real clients can use, and stops on SIGINT', async () => {
    child = spawn(
      process.execPath,
      ['--import', 'tsx', CLI, '--device', 'cli-edge:edge', '--device', 'cli-dev'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const banner = await waitForOutput(child, 'Press Ctrl-C to stop.');
    const port = Number(/port \(MQTT and HTTPS\): (\d+)/.exec(banner)?.[1]);
    const caPath = /CA certificate: +(\S+)/.exec(banner)?.[1] ?? '';
    const service = /service: +(\S+)/.exec(banner)?.[1] ?? '';
    const device = /device cli-dev: +(\S+)/.exec(banner)?.[1] ?? '';
    expect(banner).toMatch(
      /\$edgeAgent: HostName=localhost:\d+;DeviceId=cli-edge;ModuleId=\$edgeAgent;SharedAccessKey=/,
    );
    expect(existsSync(caPath)).toBe(true);

    const registry = useHttpsAgent(
      Registry.fromConnectionString(service),
      createEmulatorHttpsAgent(await readFile(caPath, 'utf8'), port),
    );
    const ids = (await registry.list()).responseBody.map((d) => d.deviceId).sort();
    expect(ids).toEqual(['cli-dev', 'cli-edge']);

    const client = DeviceClient.fromConnectionString(device, Mqtt);
    await client.setOptions({ ca: caPath }); // the SDK reads a CA file path itself
    await client.open();
    await client.close();

    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    const stopped = waitForOutput(child, 'IoT Hub emulator stopped');
    child.kill('SIGINT');
    await stopped;
    expect(await exited).toBe(0);
    expect(existsSync(caPath)).toBe(false);
  });

  it('refuses a port that is not a port, with exit code 2', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', CLI, '--port', 'eighty'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child?.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain("--port must be a TCP port number, not 'eighty'");
  });
});
