/**
 * Which port the local hub takes: a fixed port or an error; otherwise the last run's port, then the
 * preferred one (the agent's 8883), then any free one, each falling through when taken. And where
 * module binds point when the agent's home has another path on the Docker host.
 */
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Hub, type HubOptions, startHub } from '../../../agent/hub/hub.js';
import { openOutbox } from '../../../agent/upstream/open-outbox.js';
import type { Outbox } from '../../../agent/upstream/outbox.js';
import { silentLogger } from '../../../common/logger.js';
import { tempDir } from '../../support/tmp.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A plain TCP server holding a port, as another program would. */
async function occupy(port = 0): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, resolve);
  });
  cleanups.push(() => new Promise((r) => server.close(r)));
  return (server.address() as net.AddressInfo).port;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

function home(): string {
  const tmp = tempDir('hub-port');
  cleanups.push(tmp.cleanup);
  return tmp.path;
}

async function start(dir: string, options: Partial<HubOptions> = {}): Promise<Hub> {
  const outbox: Outbox = await openOutbox({
    path: join(dir, 'outbox.db'),
    capBytes: 8 * 1024 ** 2,
    log: silentLogger(),
  });
  try {
    const hub = await startHub({
      home: dir,
      deviceId: 'd1',
      iotHubHostName: 'hub.test',
      outbox,
      log: silentLogger(),
      ...options,
    });
    cleanups.push(async () => {
      await hub.close();
      outbox.close();
    });
    return hub;
  } catch (e) {
    outbox.close();
    throw e;
  }
}

describe('hub port', () => {
  it('takes the preferred port when free, and keeps it on the next start even when another is preferred', async () => {
    const dir = home();
    const preferred = await freePort();
    const first = await start(dir, { preferredPort: preferred });
    expect(first.port).toBe(preferred);
    await first.close();
    const second = await start(dir, { preferredPort: await freePort() });
    expect(second.port).toBe(preferred);
  });

  it('falls through a taken preferred port to any free one, and a taken remembered port to the preferred one', async () => {
    const taken = await occupy();
    const dir = home();
    const first = await start(dir, { preferredPort: taken });
    expect(first.port).not.toBe(taken);
    expect(first.port).toBeGreaterThan(0);
    const remembered = first.port;
    await first.close();
    await occupy(remembered);
    const preferred = await freePort();
    const second = await start(dir, { preferredPort: preferred });
    expect(second.port).toBe(preferred);
  });

  it('fails with HUB_LISTEN_FAILED and a hint when a fixed port is taken', async () => {
    const taken = await occupy();
    await expect(start(home(), { port: taken })).rejects.toMatchObject({
      code: 'HUB_LISTEN_FAILED',
      message: expect.stringContaining(`cannot listen on 127.0.0.1:${taken}`),
      hint: 'choose another hub port or stop what uses it',
    });
  });

  it('binds the CA from the host path of the home when the agent runs in a container', async () => {
    const dir = home();
    const hub = await start(dir, { hostHome: '/srv/agent-home' });
    const { env, binds } = hub.moduleEnvironment('scoring');
    expect(hub.caPath).toBe(join(dir, 'hub', 'ca.pem'));
    expect(binds).toEqual(['/srv/agent-home/hub/ca.pem:/modelport/edge-hub-ca.pem:ro']);
    expect(env.EdgeModuleCACertificateFile).toBe('/modelport/edge-hub-ca.pem');
  });
});
