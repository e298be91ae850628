/**
 * Model-data collection in the scoring server, real parts: onnxruntime sessions on fixture models,
 * entry scripts in worker threads, JSON-lines files, and the edge-hub sink through the agent's local
 * hub (MQTT-TLS, the stock ModuleClient.fromEnvironment) into its outbox and on to the IoT Hub
 * emulator — also while the hub is down and back.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { type Hub, startHub } from '../../../agent/hub/hub.js';
import { openOutbox } from '../../../agent/upstream/open-outbox.js';
import type { Outbox } from '../../../agent/upstream/outbox.js';
import { startUpstreamSender } from '../../../agent/upstream/upstream-sender.js';
import { canonicalJson, sha256Hex } from '../../../common/canonical-json.js';
import { silentLogger } from '../../../common/logger.js';
import type { CollectOptions } from '../../../modules/scoring/collect/settings.js';
import { buildServer } from '../../../modules/scoring/server.js';
import { GUIDE_SAMPLE, regression10Expected } from '../../support/fixture-reference.js';
import { type HubEmulator, startHubEmulator } from '../../support/iothub/index.js';
import { writeFixture } from '../../support/onnx/fixtures.js';
import { fixtureServer } from '../../support/scoring.js';
import { tempDir } from '../../support/tmp.js';
import { closeQuietly } from '../hub/harness.js';
import { SCRIPTS } from '../scoring/helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function work(): string {
  const tmp = tempDir('collect');
  cleanups.push(tmp.cleanup);
  return tmp.path;
}

function dirCollect(dir: string, overrides: Partial<CollectOptions> = {}): CollectOptions {
  return {
    rate: 1,
    fields: {},
    queueLimit: 1000,
    target: { kind: 'dir', dir },
    scriptModel: { name: 'entry-script', version: '' },
    ...overrides,
  };
}

type Record_ = {
  model: string;
  version: string;
  requestId: string;
  time: string;
  inputs: Record<string, unknown>;
  outputs: unknown;
};

/** Every record in the folder's JSON-lines files. */
function records(dir: string): Record_[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => /^collect-\d{4}-\d{2}-\d{2}\.jsonl$/.test(f));
  } catch {
    // Not made yet: the first record makes it.
    return [];
  }
  return files.flatMap((f) =>
    readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record_),
  );
}

async function waitForRecord(dir: string, requestId: string): Promise<Record_> {
  for (;;) {
    const found = records(dir).find((r) => r.requestId === requestId);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function server(app: FastifyInstance): Promise<FastifyInstance> {
  cleanups.push(() => app.close());
  return app;
}

const post = (app: FastifyInstance, url: string, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url,
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    headers: { 'content-type': 'application/json', ...headers },
  });

const metricValue = (text: string, labels: string) =>
  Number(new RegExp(`modelport_collect_records_total\\{${labels}\\} (\\d+)`).exec(text)?.[1] ?? Number.NaN);

describe('collection to a folder (modelport serve --collect-dir)', () => {
  it('records /score with the client’s request id, the inputs by name and the reply', async () => {
    const dir = join(work(), 'collected');
    const app = await server(
      await fixtureServer(work(), ['regression10', 'two_input'], { collect: dirCollect(dir) }),
    );
    const res = await post(
      app,
      '/score?model=regression10',
      { data: GUIDE_SAMPLE },
      {
        'x-ms-client-request-id': 'client-1',
      },
    );
    expect(res.statusCode).toBe(200);
    const record = await waitForRecord(dir, 'client-1');
    expect(record).toMatchObject({ model: 'regression10', version: '1', inputs: { x: GUIDE_SAMPLE } });
    expect(record.outputs).toEqual(res.json());
    expect((record.outputs as number[][]).map((r) => r[0])).toEqual(
      regression10Expected(GUIDE_SAMPLE).map((v) => expect.closeTo(v, 4)),
    );
    expect(Date.parse(record.time)).not.toBeNaN();

    // x-request-id when that is what the client sent; the server's own id when it sent none.
    const withXRequestId = await post(
      app,
      '/score?model=regression10',
      { data: GUIDE_SAMPLE },
      {
        'x-request-id': 'plain-2',
      },
    );
    expect(withXRequestId.statusCode).toBe(200);
    await waitForRecord(dir, 'plain-2');
    const anonymous = await post(app, '/score?model=regression10', { data: GUIDE_SAMPLE });
    const serverId = anonymous.headers['x-request-id'] as string;
    expect(serverId).toMatch(/^[0-9a-f-]{36}$/);
    await waitForRecord(dir, serverId);

    // Two inputs: by name.
    const a = [[1, 2, 3, 4]];
    const b = [[2, 2, 2, 2]];
    const two = await post(
      app,
      '/score?model=two_input',
      { data: { a, b } },
      { 'x-ms-client-request-id': 'two-1' },
    );
    expect(two.statusCode).toBe(200);
    expect(await waitForRecord(dir, 'two-1')).toMatchObject({
      model: 'two_input',
      inputs: { a, b },
      outputs: { sum: [[3, 4, 5, 6]], product: [[2, 4, 6, 8]] },
    });

    // A request that fails is not collected (the later good one is, so the first would be there by now).
    const bad = await post(
      app,
      '/score?model=regression10',
      { data: [[1, 2]] },
      { 'x-ms-client-request-id': 'bad-1' },
    );
    expect(bad.statusCode).toBe(400);
    await post(
      app,
      '/score?model=regression10',
      { data: GUIDE_SAMPLE },
      { 'x-ms-client-request-id': 'after-bad' },
    );
    await waitForRecord(dir, 'after-bad');
    expect(records(dir).map((r) => r.requestId)).not.toContain('bad-1');

    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metricValue(metrics, 'outcome="made",reason=""')).toBe(records(dir).length);
    expect(metricValue(metrics, 'outcome="sent",reason=""')).toBe(records(dir).length);
  });

  it('records OIP v2 infer: tensors by name, model and version from the reply', async () => {
    const dir = join(work(), 'collected');
    const app = await server(await fixtureServer(work(), ['two_input'], { collect: dirCollect(dir) }));
    const res = await post(
      app,
      '/v2/models/two_input/infer',
      {
        id: 'v2-req',
        inputs: [
          { name: 'a', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
          { name: 'b', datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] },
        ],
      },
      { 'x-ms-client-request-id': 'v2-1' },
    );
    expect(res.statusCode).toBe(200);
    const record = await waitForRecord(dir, 'v2-1');
    expect(record).toMatchObject({
      model: 'two_input',
      version: '1',
      inputs: {
        a: { datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
        b: { datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] },
      },
    });
    expect(record.outputs).toMatchObject({
      sum: { shape: [1, 4], data: [2, 3, 4, 5] },
      product: { shape: [1, 4], data: [1, 2, 3, 4] },
    });
  });

  it('hashes and drops inputs as the field settings say', async () => {
    const dir = join(work(), 'collected');
    const app = await server(
      await fixtureServer(work(), ['two_input'], {
        collect: dirCollect(dir, { fields: { a: 'hash', b: 'drop' } }),
      }),
    );
    const a = [[1, 2, 3, 4]];
    await post(app, '/score', { data: { a, b: [[0, 0, 0, 0]] } }, { 'x-ms-client-request-id': 'f-1' });
    expect((await waitForRecord(dir, 'f-1')).inputs).toEqual({ a: sha256Hex(canonicalJson(a)) });
  });

  it('collects about the share the rate says, and exactly the requests counted as made', async () => {
    const dir = join(work(), 'collected');
    const app = await server(
      await fixtureServer(work(), ['regression10'], { collect: dirCollect(dir, { rate: 0.5 }) }),
    );
    for (let i = 0; i < 200; i += 1)
      expect(
        (await post(app, '/score', { data: GUIDE_SAMPLE }, { 'x-ms-client-request-id': `r-${i}` }))
          .statusCode,
      ).toBe(200);
    let made = 0;
    for (;;) {
      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      made = metricValue(metrics, 'outcome="made",reason=""');
      if (metricValue(metrics, 'outcome="sent",reason=""') === made) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // Each request is a coin toss: all 200 or none would happen with a chance of 2⁻¹⁹⁹.
    expect(made).toBeGreaterThan(0);
    expect(made).toBeLessThan(200);
    expect(records(dir)).toHaveLength(made);
  });

  it('records what an entry script’s run got and returned', async () => {
    const dir = join(work(), 'collected');
    const app = await server(
      buildServer({
        models: [],
        logger: false,
        entryScript: { file: join(SCRIPTS, 'behaviours.mjs') },
        collect: dirCollect(dir, { scriptModel: { name: 'ridge', version: '7' } }),
      }),
    );
    await app.scoringLoaded;
    const res = await post(
      app,
      '/score',
      { do: 'plain-string', customer: 'c-9' },
      { 'x-ms-client-request-id': 's-1' },
    );
    expect(res.statusCode).toBe(200);
    expect(await waitForRecord(dir, 's-1')).toMatchObject({
      model: 'ridge',
      version: '7',
      inputs: { do: 'plain-string', customer: 'c-9' },
      outputs: 'hello',
    });
    const echo = await post(app, '/score', { value: [1, 2] }, { 'x-ms-client-request-id': 's-2' });
    expect((await waitForRecord(dir, 's-2')).outputs).toEqual(echo.json());
  });
});

describe('collection to the edge hub (output collect, stock module client)', () => {
  interface Device {
    iothub: HubEmulator;
    home: string;
    outbox: Outbox;
    hub: Hub;
    env: Record<string, string>;
    restartHub(): Promise<void>;
    stopHub(): Promise<void>;
  }

  /** The agent's hub, outbox and upstream sender in-process, as agent/hub/edge-services.ts runs them. */
  async function device(): Promise<Device> {
    const iothub = await startHubEmulator();
    cleanups.push(() => iothub.stop());
    iothub.createDevice('edge-c', { edge: true });
    const home = work();
    const outbox = await openOutbox({
      path: join(home, 'outbox.db'),
      capBytes: 64 * 1024 ** 2,
      log: silentLogger(),
    });
    cleanups.push(() => outbox.close());
    const upstream = (await import('azure-iot-device')).default.ModuleClient.fromConnectionString(
      iothub.moduleConnectionString('edge-c', '$edgeHub'),
      (await import('azure-iot-device-mqtt')).Mqtt,
    );
    await upstream.setOptions({ ca: iothub.ca });
    await upstream.open();
    cleanups.push(() => closeQuietly([upstream]));
    const sender = startUpstreamSender({ outbox, client: upstream, log: silentLogger() });
    cleanups.push(() => sender.stop());
    const start = async () => {
      const hub = await startHub({
        home,
        deviceId: 'edge-c',
        iotHubHostName: iothub.hostName,
        outbox,
        log: silentLogger(),
      });
      hub.applyEdgeHubDesired({
        routes: [{ name: 'collect', route: 'FROM /messages/modules/scoring/outputs/collect INTO $upstream' }],
        storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
      });
      return hub;
    };
    const d: Device = {
      iothub,
      home,
      outbox,
      hub: await start(),
      env: {},
      stopHub: async () => {
        await d.hub.close();
      },
      restartHub: async () => {
        d.hub = await start();
      },
    };
    cleanups.push(() => d.hub.close());
    // The module's environment as the agent hands it; the CA file from the agent home (host paths).
    d.env = { ...d.hub.moduleEnvironment('scoring').env, EdgeModuleCACertificateFile: d.hub.caPath };
    return d;
  }

  /** ModuleClient.fromEnvironment reads process.env when the first record is sent: set it for the test. */
  function useEnv(env: Record<string, string>): void {
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    cleanups.push(() => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });
  }

  const edgeCollect = (overrides: Partial<CollectOptions> = {}): CollectOptions => ({
    rate: 1,
    fields: {},
    queueLimit: 1000,
    target: { kind: 'edge-hub', output: 'collect' },
    scriptModel: { name: 'entry-script', version: '' },
    ...overrides,
  });

  const collectedIds = (iothub: HubEmulator) =>
    new Set(
      iothub
        .messages((m) => m.appProperties.type === 'collect')
        .map((m) => (JSON.parse(m.body.toString('utf8')) as { requestId: string }).requestId),
    );

  it('sends each record on output collect, through the hub and outbox, to IoT Hub', async () => {
    const d = await device();
    useEnv(d.env);
    const app = await server(await fixtureServer(work(), ['regression10'], { collect: edgeCollect() }));
    const res = await post(app, '/score', { data: GUIDE_SAMPLE }, { 'x-ms-client-request-id': 'e-1' });
    expect(res.statusCode).toBe(200);
    const [arrived] = await d.iothub.waitForMessages((m) => m.appProperties.type === 'collect', 1, 30_000);
    expect(JSON.parse(arrived?.body.toString('utf8') ?? '{}')).toMatchObject({
      model: 'regression10',
      version: '1',
      requestId: 'e-1',
      inputs: { x: GUIDE_SAMPLE },
    });
    expect(arrived?.appProperties).toEqual({
      model: 'regression10',
      version: '1',
      requestId: 'e-1',
      type: 'collect',
      module: 'scoring',
      output: 'collect',
    });
    expect(arrived?.systemProperties).toMatchObject({
      outputName: 'collect',
      contentType: 'application/json',
    });
  });

  it('keeps records while the hub is down and sends them when it is back; a full queue drops the oldest, counted', async () => {
    const d = await device();
    useEnv(d.env);
    const app = await server(
      await fixtureServer(work(), ['regression10'], { collect: edgeCollect({ queueLimit: 20 }) }),
    );
    expect(
      (await post(app, '/score', { data: GUIDE_SAMPLE }, { 'x-ms-client-request-id': 'up-0' })).statusCode,
    ).toBe(200);
    await d.iothub.waitForMessages((m) => m.appProperties.type === 'collect', 1, 30_000);

    await d.stopHub();
    // Scoring goes on while the hub is away; 30 records for a queue of 20: the 10 oldest are dropped.
    const ids = Array.from({ length: 30 }, (_, i) => `down-${i}`);
    for (const id of ids)
      expect(
        (await post(app, '/score', { data: GUIDE_SAMPLE }, { 'x-ms-client-request-id': id })).statusCode,
      ).toBe(200);
    for (;;) {
      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      if (metricValue(metrics, 'outcome="made",reason=""') === 31) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await d.restartHub();
    // The newest 20 arrive (the hub keeps its port, CA and keys, so the module's settings still hold).
    const newest = new Set(ids.slice(-20));
    for (;;) {
      const seen = collectedIds(d.iothub);
      if ([...newest].every((id) => seen.has(id))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const dropped = metricValue(metrics, 'outcome="dropped",reason="queue_full"');
    const seen = collectedIds(d.iothub);
    // Every record made was either sent or dropped as queue_full, and the dropped ones are the oldest.
    expect(ids.filter((id) => !seen.has(id))).toHaveLength(dropped);
    expect(dropped).toBeGreaterThan(0);
    expect(ids.slice(0, dropped).every((id) => !seen.has(id))).toBe(true);
  });

  it('an entry script’s module collects too (its deployed model names the records)', async () => {
    const d = await device();
    useEnv(d.env);
    const modelDir = join(work(), 'azureml-models', 'regression10', '1');
    await writeFixture('regression10', modelDir);
    const app = await server(
      buildServer({
        models: [],
        logger: false,
        entryScript: { file: join(SCRIPTS, 'guide-score.mjs'), modelDir },
        collect: edgeCollect({ scriptModel: { name: 'regression10', version: '1' } }),
      }),
    );
    await app.scoringLoaded;
    const res = await post(app, '/score', { data: GUIDE_SAMPLE }, { 'x-ms-client-request-id': 'script-e-1' });
    expect(res.statusCode).toBe(200);
    const [arrived] = await d.iothub.waitForMessages((m) => m.appProperties.type === 'collect', 1, 30_000);
    const record = JSON.parse(arrived?.body.toString('utf8') ?? '{}');
    expect(record).toMatchObject({
      model: 'regression10',
      version: '1',
      requestId: 'script-e-1',
      inputs: { data: GUIDE_SAMPLE },
    });
    expect(record.outputs.predictions).toEqual(res.json().predictions);
  });
});
