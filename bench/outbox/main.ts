/**
 * `npm run bench:outbox`: the store-and-forward outbox on this machine.
 *  1. Durable enqueue rate of 1 KB messages (synchronous=FULL, group commit), many producers,
 *     against the baseline of one commit per message measured in the same run.
 *  2. The same through the hub: stock module clients over MQTT-TLS, PUBACK after the commit.
 *  3. Drain rate to the IoT Hub emulator (in its own process) through the device SDK, by window.
 *  4. RSS of hub + outbox + sender with 1k and with 100k messages queued and no link.
 * Targets: enqueue ≥ 20,000 msg/s; drain limited by the link; RSS independent of queue length.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import deviceSdk from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import { startHub } from '../../agent/hub/hub.js';
import { openOutbox } from '../../agent/upstream/open-outbox.js';
import type { Outbox } from '../../agent/upstream/outbox.js';
import { startUpstreamSender } from '../../agent/upstream/upstream-sender.js';
import { silentLogger } from '../../common/logger.js';
import { kilobyteMessage, mib, pool, ROOT, startEmulatorProcess } from './support.js';

const log = silentLogger();
const dirs: string[] = [];
const tmp = (name: string) => {
  const d = mkdtempSync(join(tmpdir(), `modelport-bench-${name}-`));
  dirs.push(d);
  return d;
};
const open = (dir: string) =>
  openOutbox({ path: join(dir, 'outbox.db'), capBytes: 4 * 1024 ** 3, log, sweepIntervalMs: 0 });
const rate = (n: number, ms: number) => Math.round((n * 1000) / ms);

let lastCpuSeconds = 0;

/** Wall time of `work` in ms; its CPU time (this process, all threads) goes to `lastCpuSeconds`. */
async function timed(work: () => Promise<void>): Promise<number> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await work();
  const used = process.cpuUsage(cpu);
  lastCpuSeconds = (used.user + used.system) / 1e6;
  return performance.now() - start;
}

/** The machine is shared: messages per CPU-second of this process tells what the code costs. */
const perCpu = (n: number) => `${Math.round(n / lastCpuSeconds)} msg per CPU-second`;

async function fill(outbox: Outbox, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1000)
    await outbox.enqueue(Array.from({ length: Math.min(1000, n - i) }, (_, j) => kilobyteMessage(i + j)));
}

async function enqueueRates(): Promise<void> {
  const baselineN = 2000;
  const base = await open(tmp('baseline'));
  const baselineMs = await timed(() => pool(baselineN, 1, (i) => base.enqueue(kilobyteMessage(i))));
  const baselineCpu = perCpu(baselineN);
  base.close();

  const n = 100_000;
  const many = await open(tmp('producers'));
  const manyMs = await timed(() => pool(n, 512, (i) => many.enqueue(kilobyteMessage(i))));
  const manyCpu = perCpu(n);
  const count = many.metrics().queued.count;
  many.close();

  const batched = await open(tmp('batches'));
  const batchedMs = await timed(() =>
    pool(n / 100, 16, (b) =>
      batched.enqueue(Array.from({ length: 100 }, (_, j) => kilobyteMessage(b * 100 + j))),
    ),
  );
  const batchedCpu = perCpu(n);
  batched.close();

  const baseline = rate(baselineN, baselineMs);
  const times = (r: number) => `${(r / baseline).toFixed(1)}x the baseline`;
  console.log('1. durable enqueue, 1 KB messages, synchronous=FULL');
  console.log(`   baseline, one commit per message:    ${baseline} msg/s (${baselineCpu})`);
  console.log(
    `   512 producers, group commit:         ${rate(n, manyMs)} msg/s, ${times(rate(n, manyMs))} (${manyCpu}; ${count} stored)`,
  );
  console.log(
    `   16 producers of 100-message batches: ${rate(n, batchedMs)} msg/s, ${times(rate(n, batchedMs))} (${batchedCpu})`,
  );
}

async function throughHub(): Promise<void> {
  const home = tmp('hub');
  const outbox = await open(home);
  const hub = await startHub({ home, deviceId: 'bench-edge', iotHubHostName: 'hub.local', outbox, log });
  hub.applyEdgeHubDesired({
    routes: [{ name: 'all', route: 'FROM /messages/* INTO $upstream' }],
    storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
  });
  const clients: InstanceType<typeof deviceSdk.ModuleClient>[] = [];
  for (let c = 0; c < 4; c += 1) {
    const client = deviceSdk.ModuleClient.fromConnectionString(
      hub.moduleConnectionString(`producer${c}`),
      Mqtt,
    );
    await client.setOptions({ ca: hub.caPem });
    await client.open();
    clients.push(client);
  }
  const n = 20_000;
  const body = kilobyteMessage(0).body;
  const ms = await timed(() =>
    pool(n, 400, async (i) => {
      const m = new deviceSdk.Message(body);
      m.messageId = `h-${i}`;
      await (clients[i % clients.length] as InstanceType<typeof deviceSdk.ModuleClient>).sendOutputEvent(
        'collect',
        m,
      );
    }),
  );
  console.log('2. through the hub: 4 stock module clients (MQTT-TLS, QoS 1), PUBACK after the commit');
  console.log(
    `   ${rate(n, ms)} msg/s acknowledged (${perCpu(n)} of hub + clients; ${outbox.metrics().queued.count} stored)`,
  );
  await Promise.allSettled(clients.map((c) => c.close()));
  await hub.close();
  outbox.close();
}

async function drainRates(): Promise<void> {
  const emulator = await startEmulatorProcess();
  try {
    console.log('3. drain to the IoT Hub emulator (own process) through azure-iot-device-mqtt');
    for (const window of [1, 32, 64, 128]) {
      const n = window === 1 ? 2000 : 20_000;
      const outbox = await open(tmp(`drain${window}`));
      await fill(outbox, n);
      const client = deviceSdk.ModuleClient.fromConnectionString(emulator.edgeHubConnectionString, Mqtt);
      await client.setOptions({ ca: emulator.caPath });
      await client.open();
      const ms = await timed(async () => {
        const sender = startUpstreamSender({ outbox, client, log, window });
        while (outbox.metrics().queued.count > 0) await new Promise((r) => setTimeout(r, 20));
        sender.stop();
      });
      console.log(
        `   window ${String(window).padStart(3)}: ${rate(n, ms)} msg/s (${n} messages; ${perCpu(n)} of outbox + SDK)`,
      );
      await client.close();
      outbox.close();
    }
  } finally {
    await emulator.stop();
  }
}

async function rssByQueueLength(): Promise<void> {
  console.log('4. RSS of hub + outbox + sender, link down (SDK retrying), after 8 s and a GC');
  const results: Array<[number, number]> = [];
  for (const n of [1000, 100_000]) {
    const home = tmp(`rss${n}`);
    const outbox = await open(home);
    await fill(outbox, n);
    outbox.close();
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', join(ROOT, 'bench', 'outbox', 'rss-child.ts'), home, '8'],
      { cwd: ROOT, encoding: 'utf8' },
    );
    const { rssBytes, queued } = JSON.parse(out.trim().split('\n').at(-1) as string) as {
      rssBytes: number;
      queued: number;
    };
    results.push([n, rssBytes]);
    console.log(`   ${String(queued).padStart(6)} queued: RSS ${mib(rssBytes)}`);
  }
  const [[, small], [, large]] = results as [[number, number], [number, number]];
  console.log(`   100k vs 1k queued: ${(large / small).toFixed(2)}x RSS`);
}

try {
  await enqueueRates();
  await throughHub();
  await drainRates();
  await rssByQueueLength();
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
