/**
 * Model-data collection end to end, every part real: a scoring module image built by `modelport
 * package` (collection rate 1), run by the real `modelport-agent` from a manifest file whose route
 * sends `collect` upstream, its records carried by the agent's local hub and outbox to the IoT Hub
 * emulator through the `$edgeHub` identity. Checked: one record per scored request with the
 * client's request id; records made while IoT Hub refuses connections arrive after; five `kill -9`
 * of the agent during a produce burst lose nothing a producer was told was stored, and the scoring
 * module's records (queued and retried while the hub is gone) all arrive; a module with a wrong key
 * is refused by the agent's hub; a manifest with a route that does not parse is reported and the
 * previous routes stay.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NoRetry } from 'azure-iot-common';
import type { ModuleClient } from 'azure-iot-device';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EDGEHUB_REPORTED_FILE } from '../../../agent/hub/edge-reporting.js';
import { buildDeployment } from '../../../manifests/index.js';
import { closeQuietly, fromEnvironment, jsonMessage } from '../../integration/hub/harness.js';
import { dockerClient, engineInfo, freePort } from '../../support/engine/helpers.js';
import { GUIDE_SAMPLE, regression10Expected } from '../../support/fixture-reference.js';
import { type CapturedMessage, type HubEmulator, startHubEmulator } from '../../support/iothub/index.js';
import { tempDir } from '../../support/tmp.js';
import {
  type AgentRun,
  buildModuleImage,
  managedContainers,
  moduleOf,
  removeAgentContainers,
  SUITE_LABEL,
  seededRandom,
  startAgent,
  waitForReported,
} from '../agent/support.js';
import { registerFixtures, removeImages, runPackage } from '../package/helpers.js';

const RUN = randomBytes(4).toString('hex');
const DEVICE = `collect-${RUN}`;
const AGENT_ID = `collect-${RUN}`;
const LABELS = { [SUITE_LABEL]: AGENT_ID };
const docker = dockerClient();
const tmp = tempDir('collect-e2e');
const home = join(tmp.path, 'agent-home');
const manifestPath = join(tmp.path, 'deployment.json');
const COLLECT_ROUTE = 'FROM /messages/modules/scoring/outputs/collect INTO $upstream';
const PRODUCER_ROUTE = 'FROM /messages/modules/producer/outputs/* INTO $upstream';

let iothub: HubEmulator;
let agent: AgentRun | undefined;
let scoringImage = '';
let producerImage = '';
let scoringPort = 0;
let hubPort = 0;
const clients: ModuleClient[] = [];

function writeManifest(routes: Record<string, string>): void {
  const healthcheck = {
    Test: [
      'CMD',
      'node',
      '-e',
      "fetch('http://127.0.0.1:'+process.env.MODELPORT_PORT+'/').then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))",
    ],
    Interval: 1_000_000_000,
    Timeout: 5_000_000_000,
    Retries: 3,
  };
  const manifest = buildDeployment({
    modules: {
      scoring: {
        image: scoringImage,
        env: { MODELPORT_PORT: scoringPort, MODELPORT_COLLECT_RATE: 1 },
        createOptions: { HostConfig: { NetworkMode: 'host' }, Healthcheck: healthcheck },
      },
      // An idle module: the test produces with its identity from the host (its env, our CA path).
      producer: {
        image: producerImage,
        env: { MODE: 'serve' },
        createOptions: { HostConfig: { NetworkMode: 'host' } },
      },
    },
    routes,
  });
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
}

function launchAgent(): AgentRun {
  agent = startAgent({
    home,
    agentId: AGENT_ID,
    manifest: manifestPath,
    args: [
      '--edgehub-connection-string',
      iothub.moduleConnectionString(DEVICE, '$edgeHub'),
      '--ca',
      iothub.caPath,
      '--hub-port',
      String(hubPort),
      '--telemetry-interval',
      '0',
    ],
  });
  return agent;
}

/** POST /score with a client request id; the predictions, checked against the fixture's reference. */
async function score(requestId: string): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${scoringPort}/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-ms-client-request-id': requestId },
      body: JSON.stringify({ data: GUIDE_SAMPLE }),
      signal: AbortSignal.timeout(10_000),
    });
    if (res.status !== 200) return false;
    const rows = (await res.json()) as number[][];
    expect(rows).toHaveLength(GUIDE_SAMPLE.length);
    return true;
  } catch (e) {
    // A request the module did not answer is not counted: only answered ones must have records.
    if ((e as Error).name === 'AssertionError') throw e;
    return false;
  }
}

const collected = (): CapturedMessage[] => iothub.messages((m) => m.appProperties.type === 'collect');

/** Waits until every id in `ids` has arrived (by `idOf`); on timeout names the missing ones. */
async function waitForIds(
  ids: ReadonlySet<string>,
  messages: () => CapturedMessage[],
  idOf: (m: CapturedMessage) => string | undefined,
  timeoutMs: number,
): Promise<Map<string, CapturedMessage>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = new Map<string, CapturedMessage>();
    for (const m of messages()) {
      const id = idOf(m);
      if (id !== undefined) seen.set(id, m);
    }
    const missing = [...ids].filter((id) => !seen.has(id));
    if (missing.length === 0) return seen;
    if (Date.now() > deadline) {
      throw new Error(
        `${missing.length} of ${ids.size} never arrived (e.g. ${missing.slice(0, 5).join(', ')})\nagent log tail:\n${agent?.logs().split('\n').slice(-30).join('\n')}`,
      );
    }
    await sleep(250);
  }
}

const recordId = (m: CapturedMessage) =>
  (JSON.parse(m.body.toString('utf8')) as { requestId?: string }).requestId;

/** A stock module client with the producer module's identity, as the agent configured its container. */
async function producerClient(overrides: Record<string, string> = {}): Promise<ModuleClient> {
  const [container] = (await managedContainers(docker, AGENT_ID)).filter((c) => moduleOf(c) === 'producer');
  if (!container) throw new Error('the producer module has no container');
  const env = Object.fromEntries(
    (container.Config.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  );
  const client = await fromEnvironment({
    EdgeHubConnectionString: env.EdgeHubConnectionString ?? '',
    // On the host the CA is the agent home's file, the one the agent bind-mounts into the container.
    EdgeModuleCACertificateFile: join(home, 'hub', 'ca.pem'),
    ...overrides,
  });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  const info = engineInfo();
  const env = await registerFixtures(join(tmp.path, 'modelport-home'), ['regression10']);
  scoringImage = `modelport-test/collect-e2e-${RUN}:1`;
  const packaged = await runPackage(
    ['--model', 'regression10:1', '--image', scoringImage, '--base-image', info.baseImage],
    env,
  );
  expect(packaged.code, packaged.stdout + packaged.stderr).toBe(0);
  producerImage = `modelport-test/collect-producer-${RUN}:1`;
  await buildModuleImage(docker, info.baseImage, producerImage, LABELS);
  iothub = await startHubEmulator();
  iothub.createDevice(DEVICE, { edge: true });
  scoringPort = await freePort();
  hubPort = await freePort();
  writeManifest({ collect: COLLECT_ROUTE, producer: PRODUCER_ROUTE });
  launchAgent();
  await waitForReported(
    home,
    (r) =>
      r.lastDesiredStatus?.code === 200 &&
      r.modules?.scoring?.runtimeStatus === 'running' &&
      r.modules?.producer?.runtimeStatus === 'running',
    240_000,
    agent,
  );
}, 900_000);

afterAll(async () => {
  await closeQuietly(clients.splice(0));
  await agent?.stop();
  await iothub?.stop();
  await removeAgentContainers(docker, AGENT_ID);
  await removeImages(docker, [scoringImage, producerImage]);
  tmp.cleanup();
});

describe('model-data collection through the agent (Docker, IoT Hub emulator)', () => {
  it('gives one record per scored request, with its request id, also for requests scored while the link is cut', async () => {
    const ids = new Set(Array.from({ length: 20 }, (_, i) => `before-${RUN}-${i}`));
    for (const id of ids) expect(await score(id)).toBe(true);
    const arrived = await waitForIds(ids, collected, recordId, 60_000);
    const expected = regression10Expected(GUIDE_SAMPLE);
    for (const [id, message] of arrived) {
      const record = JSON.parse(message.body.toString('utf8'));
      expect(record).toMatchObject({ model: 'regression10', version: '1', requestId: id });
      expect(Date.parse(record.time)).not.toBeNaN();
      expect(Object.values(record.inputs)).toEqual([GUIDE_SAMPLE]);
      expect((record.outputs as number[][]).map((r) => r[0])).toEqual(
        expected.map((v) => expect.closeTo(v, 4)),
      );
      expect(message.moduleId).toBe('$edgeHub');
      expect(message.appProperties).toMatchObject({
        type: 'collect',
        module: 'scoring',
        output: 'collect',
        model: 'regression10',
        requestId: id,
      });
      expect(message.systemProperties).toMatchObject({
        outputName: 'collect',
        contentType: 'application/json',
      });
    }

    // The link to IoT Hub is cut (connections dropped and refused); scoring goes on meanwhile.
    iothub.faults.dropAll();
    iothub.faults.refuseFor(8_000);
    const during = new Set(Array.from({ length: 30 }, (_, i) => `cut-${RUN}-${i}`));
    for (const id of during) expect(await score(id)).toBe(true);
    await waitForIds(during, collected, recordId, 120_000);
    const metrics = await (await fetch(`http://127.0.0.1:${scoringPort}/metrics`)).text();
    expect(metrics).toMatch(/modelport_collect_records_total\{outcome="sent",reason=""\} (\d+)/);
    const sent = Number(
      /modelport_collect_records_total\{outcome="sent",reason=""\} (\d+)/.exec(metrics)?.[1],
    );
    expect(sent).toBeGreaterThanOrEqual(ids.size + during.size);
    expect(metrics).not.toMatch(/outcome="dropped"/);
  });

  it('kill -9 of the agent during a produce burst, 5 times: nothing acknowledged is lost, every record arrives', async () => {
    const random = seededRandom(Number.parseInt(RUN, 16));
    const producer = await producerClient();
    await producer.open();
    const acked = new Set<string>();
    const scored = new Set<string>();
    let producing = true;
    let n = 0;
    const produce = (async () => {
      while (producing) {
        const id = `p-${RUN}-${n++}`;
        // Acknowledged = the hub's PUBACK, sent only after the message is committed to the outbox.
        await producer
          .sendOutputEvent('out', await jsonMessage({ id }, {}, id))
          .then(() => acked.add(id))
          .catch(() => undefined);
      }
    })();
    let k = 0;
    const scoring = (async () => {
      while (producing) {
        const id = `s-${RUN}-${k++}`;
        if (await score(id)) scored.add(id);
      }
    })();
    for (let round = 0; round < 5; round += 1) {
      const ackedBefore = acked.size;
      await sleep(500 + Math.floor(random() * 1_500));
      await agent?.kill9();
      await sleep(Math.floor(random() * 1_000));
      const restarted = launchAgent();
      // The hub is back on its port (the module's client and the scoring module reconnect by themselves).
      await expect
        .poll(() => /"event":"hub-listening"/.test(restarted.logs()), { timeout: 60_000 })
        .toBe(true);
      await expect.poll(() => acked.size, { timeout: 120_000 }).toBeGreaterThan(ackedBefore);
    }
    producing = false;
    await Promise.all([produce, scoring]);
    expect(acked.size).toBeGreaterThan(0);
    expect(scored.size).toBeGreaterThan(0);
    await waitForIds(
      acked,
      () => iothub.messages({ deviceId: DEVICE }),
      (m) => m.systemProperties.messageId,
      180_000,
    );
    await waitForIds(scored, collected, recordId, 180_000);
  });

  it('refuses a module that signs with a wrong key (the real agent’s hub)', async () => {
    const [container] = (await managedContainers(docker, AGENT_ID)).filter((c) => moduleOf(c) === 'producer');
    const good = (container?.Config.Env ?? []).find((e) => e.startsWith('EdgeHubConnectionString='));
    expect(good).toMatch(
      new RegExp(`GatewayHostName=localhost:${hubPort};DeviceId=${DEVICE};ModuleId=producer;`),
    );
    const wrongKey = (good ?? '')
      .slice('EdgeHubConnectionString='.length)
      .replace(/SharedAccessKey=[^;]+/, `SharedAccessKey=${Buffer.alloc(32, 7).toString('base64')}`);
    const intruder = await producerClient({ EdgeHubConnectionString: wrongKey });
    intruder.setRetryPolicy(new NoRetry());
    await expect(intruder.open()).rejects.toThrow(/not authorized|unauthorized/i);
  });

  it('reports a manifest route that does not parse and keeps routing with the previous routes', async () => {
    writeManifest({
      collect: COLLECT_ROUTE,
      producer: PRODUCER_ROUTE,
      broken: 'FROM /messages/* INTO nowhere',
    });
    const reportedFile = join(home, EDGEHUB_REPORTED_FILE);
    await expect
      .poll(
        () => {
          try {
            return JSON.parse(readFileSync(reportedFile, 'utf8')).lastDesiredStatus?.code;
          } catch {
            // Not written yet (or caught mid-rename): poll again.
            return undefined;
          }
        },
        { timeout: 60_000 },
      )
      .toBe(400);
    expect(JSON.parse(readFileSync(reportedFile, 'utf8')).lastDesiredStatus.description).toMatch(
      /route 'broken': unknown sink 'nowhere'/,
    );
    await expect
      .poll(
        () =>
          (
            iothub.twin(DEVICE, '$edgeHub') as {
              properties: { reported: { lastDesiredStatus?: { code: number } } };
            }
          ).properties.reported.lastDesiredStatus?.code,
        { timeout: 60_000 },
      )
      .toBe(400);
    const id = `after-bad-routes-${RUN}`;
    expect(await score(id)).toBe(true);
    await waitForIds(new Set([id]), collected, recordId, 60_000);
  });
});
