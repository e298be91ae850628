/**
 * The agent's edge services where they must not fail quietly (in-process, real SQLite files, real
 * MQTT-TLS, the IoT Hub emulator; no Docker): hub mode without a `$edgeHub` identity warns and
 * counts unrouted messages; `$edgeHub` desired properties that fail the schema are reported, the
 * routes kept; removed modules lose their keys; an outbox that cannot be opened is reported and
 * refuses messages, and the agent recovers once it can be opened.
 */
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Docker from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../../agent/agent.js';
import { resolveConfig } from '../../../agent/config.js';
import type { EdgeServices } from '../../../agent/hub/edge-services.js';
import { startEdgeServicesFor } from '../../../agent/hub/from-config.js';
import { createLogger } from '../../../common/logger.js';
import { type HubEmulator, startHubEmulator } from '../../support/iothub/index.js';
import { tempDir } from '../../support/tmp.js';
import { closeQuietly, fromEnvironment, jsonMessage } from './harness.js';

const DEVICE = 'edge-gaps';
const quiet = { writeOut: () => undefined, writeErr: () => undefined };

const cleanups: Array<() => unknown> = [];
let iothub: HubEmulator | undefined;
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await iothub?.stop();
  iothub = undefined;
});

/** A logger whose JSON lines the test reads (events by name). */
function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  const log = createLogger({ name: 'edge-gaps', level: 'debug', destination });
  return { log, events: (name: string) => lines.filter((l) => l.event === name) };
}

async function startAgent(argv: string[], home: string) {
  const config = resolveConfig(
    [...argv, '--home', home, '--interval', '1', '--telemetry-interval', '0'],
    {},
    '0.0.0-test',
    quiet,
  );
  const docker = new Docker({ socketPath: join(home, 'no-engine.sock') });
  const capture = capturingLogger();
  const services = await startEdgeServicesFor(config, { docker, log: capture.log });
  const agent = new Agent({ config, logger: capture.log, docker, edgeServices: services });
  const shutdown = new AbortController();
  const running = agent.run(shutdown.signal);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    shutdown.abort();
    await running;
    await services.stop();
  };
  cleanups.push(stop);
  return { services, agent, events: capture.events, stop };
}

async function moduleClient(services: EdgeServices, moduleId: string, env?: Record<string, string>) {
  const moduleEnv = env ?? services.moduleEnvironment.forModule(moduleId).env;
  const client = await fromEnvironment({ ...moduleEnv, EdgeModuleCACertificateFile: services.hub.caPath });
  cleanups.push(() => closeQuietly([client]));
  return client;
}

// biome-ignore lint/suspicious/noExplicitAny: reported documents are read by path in assertions
const reportedTwin = (hub: HubEmulator, moduleId: string): Record<string, any> =>
  (hub.twin(DEVICE, moduleId) as { properties: { reported: Record<string, unknown> } }).properties.reported;

describe('hub mode without a $edgeHub identity', () => {
  it('warns at start that routes need --edgehub-connection-string, and warns (rate-limited) and counts unrouted messages', async () => {
    iothub = await startHubEmulator();
    iothub.createDevice(DEVICE, { edge: true });
    const tmp = tempDir('edge-gaps');
    cleanups.push(tmp.cleanup);
    const run = await startAgent(
      ['--connection-string', iothub.moduleConnectionString(DEVICE, '$edgeAgent'), '--ca', iothub.caPath],
      join(tmp.path, 'home'),
    );
    expect(run.events('edgehub-routes-missing')).toHaveLength(1);
    const scoring = await moduleClient(run.services, 'scoring');
    await scoring.open();
    for (const id of ['u-1', 'u-2', 'u-3'])
      await scoring.sendOutputEvent('collect', await jsonMessage({ r: id }, {}, id));
    // The first at warn level with the module and output; the others wait for the minute's count.
    const warned = run.events('message-unrouted');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 40, moduleId: 'scoring', outputName: 'collect', routes: 0 });
    expect(run.services.hub.metrics().unrouted).toBe(3);
    expect(run.services.edgeHubReported().unroutedMessages).toBe(3);
    await run.stop();
    // Stopping flushes the count of the unrouted messages not logged one by one.
    expect(run.events('messages-unrouted')).toEqual([
      expect.objectContaining({ level: 40, count: 2, modules: ['scoring'] }),
    ]);
  });
});

describe('$edgeHub desired properties that fail the schema', () => {
  it('are reported with code 400 and the reason on the $edgeHub twin; the previous routes stay', async () => {
    iothub = await startHubEmulator();
    iothub.createDevice(DEVICE, { edge: true });
    iothub.updateTwin(DEVICE, '$edgeHub', {
      properties: {
        desired: {
          schemaVersion: '1.1',
          routes: { up: 'FROM /messages/* INTO $upstream' },
          storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
        },
      },
    });
    const tmp = tempDir('edge-gaps');
    cleanups.push(tmp.cleanup);
    const run = await startAgent(
      [
        '--connection-string',
        iothub.moduleConnectionString(DEVICE, '$edgeAgent'),
        '--edgehub-connection-string',
        iothub.moduleConnectionString(DEVICE, '$edgeHub'),
        '--ca',
        iothub.caPath,
      ],
      join(tmp.path, 'home'),
    );
    await expect.poll(() => run.services.hub.metrics().routes, { timeout: 30_000 }).toEqual(['up']);
    await expect
      .poll(() => reportedTwin(iothub as HubEmulator, '$edgeHub').lastDesiredStatus?.code, {
        timeout: 20_000,
      })
      .toBe(200);

    iothub.updateTwin(DEVICE, '$edgeHub', {
      properties: {
        desired: { routes: { up: { route: 'FROM /messages/* INTO $upstream', priority: 12 } } },
      },
    });
    const version = (iothub.twin(DEVICE, '$edgeHub') as { properties: { desired: { $version: number } } })
      .properties.desired.$version;
    await expect
      .poll(() => reportedTwin(iothub as HubEmulator, '$edgeHub').lastDesiredVersion, { timeout: 20_000 })
      .toBe(version);
    const reported = reportedTwin(iothub, '$edgeHub');
    expect(reported.lastDesiredStatus.code).toBe(400);
    expect(reported.lastDesiredStatus.description).toMatch(
      /\$edgeHub desired properties rejected: .*priority/,
    );
    expect(run.services.hub.metrics().routes).toEqual(['up']);
    expect(run.events('desired-ignored')).toHaveLength(1);
  });
});

describe('modules removed from the deployment', () => {
  it('lose their hub key: the old connection string is refused at CONNECT, the others still connect', async () => {
    const tmp = tempDir('edge-gaps');
    cleanups.push(tmp.cleanup);
    const config = resolveConfig(
      [
        '--manifest',
        join(tmp.path, 'unused.json'),
        '--home',
        join(tmp.path, 'home'),
        '--telemetry-interval',
        '0',
      ],
      {},
      '0.0.0-test',
      quiet,
    );
    const capture = capturingLogger();
    const services = await startEdgeServicesFor(config, {
      docker: new Docker({ socketPath: join(tmp.path, 'no-engine.sock') }),
      log: capture.log,
    });
    cleanups.push(() => services.stop());
    const envA = services.moduleEnvironment.forModule('a').env;
    const envB = services.moduleEnvironment.forModule('b').env;
    const a = await moduleClient(services, 'a', envA);
    await a.open();
    await closeQuietly([a]);

    // What the agent does after each pass: the deployment's modules plus those with a container.
    expect(services.forgetRemovedModules(['b'])).toEqual(['a']);
    expect(services.hub.knownModules()).toEqual(['b']);
    expect(capture.events('modules-forgotten')).toEqual([expect.objectContaining({ moduleIds: ['a'] })]);

    const refused = services.hub.metrics().connectsRefused;
    const again = await moduleClient(services, 'a', envA);
    await expect(again.open()).rejects.toThrow();
    expect(services.hub.metrics().connectsRefused).toBe(refused + 1);
    expect(capture.events('module-refused').at(-1)).toMatchObject({ clientId: `${config.agentId}/a` });
    const b = await moduleClient(services, 'b', envB);
    await b.open();
    expect(services.hub.connectedModules()).toEqual(['b']);
    // Nothing left to forget: a second call changes nothing.
    expect(services.forgetRemovedModules(['b'])).toEqual([]);
  });
});

describe('an outbox that cannot be opened', () => {
  it('leaves the agent running: unavailable in reported properties, module messages refused; recovers once it opens', async () => {
    iothub = await startHubEmulator();
    iothub.createDevice(DEVICE, { edge: true });
    const tmp = tempDir('edge-gaps');
    cleanups.push(tmp.cleanup);
    const home = join(tmp.path, 'home');
    const outboxPath = join(home, 'outbox.db');
    mkdirSync(outboxPath, { recursive: true });
    const { buildDeployment } = await import('../../../manifests/index.js');
    const manifest = join(tmp.path, 'deployment.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      manifest,
      JSON.stringify(
        buildDeployment({
          modules: { scoring: { image: 'registry.test/scoring:1' } },
          routes: { all: 'FROM /messages/* INTO $upstream' },
        }),
      ),
    );
    const run = await startAgent(
      [
        '--manifest',
        manifest,
        '--edgehub-connection-string',
        iothub.moduleConnectionString(DEVICE, '$edgeHub'),
        '--ca',
        iothub.caPath,
      ],
      home,
    );
    expect(run.services.outbox.getStatus()).toMatchObject({
      state: 'unavailable',
      lastError: { code: 'OUTBOX_UNAVAILABLE' },
    });
    expect(run.events('outbox-unavailable')[0]).toMatchObject({ level: 50, path: outboxPath });
    expect(run.services.edgeHubReported().storeAndForward).toMatchObject({ status: 'unavailable' });
    await expect
      .poll(() => reportedTwin(iothub as HubEmulator, '$edgeHub').storeAndForward?.status, {
        timeout: 20_000,
      })
      .toBe('unavailable');
    await expect.poll(() => run.services.hub.metrics().routes, { timeout: 20_000 }).toEqual(['all']);

    // Refused without PUBACK (the connection is closed, the refusal names the outbox): the module's
    // SDK keeps the message and sends it again after reconnecting, so nothing is accepted and lost.
    const scoring = await moduleClient(run.services, 'scoring');
    await scoring.open();
    const sending = scoring.sendOutputEvent('collect', await jsonMessage({ n: 1 }, {}, 'held-1'));
    await expect.poll(() => run.events('publish-refused').length, { timeout: 20_000 }).toBeGreaterThan(0);
    expect(run.events('publish-refused')[0]).toMatchObject({
      code: 'OUTBOX_UNAVAILABLE',
      moduleId: 'scoring',
    });
    expect(run.services.hub.metrics().routed).toBe(0);

    rmdirSync(outboxPath);
    await expect
      .poll(() => run.services.outbox.getStatus().state, { timeout: 40_000, interval: 200 })
      .toBe('ok');
    expect(run.events('outbox-recovered')).toHaveLength(1);
    await sending;
    const [arrived] = await iothub.waitForMessages(
      (m) => m.systemProperties.messageId === 'held-1',
      1,
      30_000,
    );
    expect(arrived?.appProperties).toMatchObject({ module: 'scoring', output: 'collect' });
    await expect
      .poll(() => reportedTwin(iothub as HubEmulator, '$edgeHub').storeAndForward?.status, {
        timeout: 20_000,
      })
      .toBe('ok');
  }, 150_000);
});
