/** Shared pieces of the outbox bench: messages, a concurrency pool, an emulator in a child process. */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type OutboxMessage, UPSTREAM_ENDPOINT } from '../../agent/upstream/message.js';

export const ROOT = join(import.meta.dirname, '..', '..');

/** A 1 KB JSON body, as a model-data collection record of a small model would be. */
export function kilobyteMessage(i: number): OutboxMessage {
  const filler = 'x'.repeat(1024 - 60);
  return {
    endpoint: UPSTREAM_ENDPOINT,
    messageId: randomUUID(),
    priority: 5,
    timeToLiveSecs: 7200,
    body: Buffer.from(JSON.stringify({ i, requestId: `req-${i}`, f: filler }).slice(0, 1024)),
    appProperties: { type: 'collect', module: 'scoring', output: 'collect' },
    systemProperties: { contentType: 'application/json', contentEncoding: 'utf-8', outputName: 'collect' },
    source: 'scoring',
    route: 'collect',
  };
}

export async function pool(
  n: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

export interface EmulatorProcess {
  child: ChildProcess;
  edgeHubConnectionString: string;
  caPath: string;
  hostName: string;
  stop(): Promise<void>;
}

/** The IoT Hub emulator in a process of its own (its CPU is not the bench's), with edge device `bench-edge`. */
export async function startEmulatorProcess(): Promise<EmulatorProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'test', 'support', 'iothub', 'cli.ts'), '--device', 'bench-edge:edge'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  let caPath = '';
  let edgeHub = '';
  for await (const line of lines) {
    const ca = /CA certificate:\s+(\S+)/.exec(line);
    if (ca) caPath = ca[1] as string;
    const hub = /\$edgeHub: (\S+)/.exec(line);
    if (hub) edgeHub = hub[1] as string;
    if (line.startsWith('Press Ctrl-C')) break;
  }
  const hostName = /HostName=([^;]+)/.exec(edgeHub)?.[1] ?? '';
  return {
    child,
    edgeHubConnectionString: edgeHub,
    caPath,
    hostName,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
