/**
 * cloud/fleet's HubClient on the real azure-iothub SDK against the emulator: reaching a hub whose
 * HostName names a port and whose CA is private (no emulator seam), and how the hub's own refusals
 * and a silent server come back as ModelportErrors.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyDeployment, HubClient } from '../../../cloud/fleet/index.js';
import { isModelportError, type ModelportError } from '../../../common/errors.js';
import { type HubEmulator, startHubEmulator } from '../../support/iothub/index.js';

let hub: HubEmulator;
let client: HubClient;

async function failure(promise: Promise<unknown>): Promise<ModelportError> {
  try {
    await promise;
  } catch (e) {
    if (isModelportError(e)) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

const content = {
  modulesContent: {
    $edgeAgent: {
      'properties.desired': {
        schemaVersion: '1.1',
        runtime: { type: 'docker', settings: {} },
        systemModules: {
          edgeAgent: { type: 'docker', settings: { image: 'mcr.microsoft.com/azureiotedge-agent:1.5' } },
          edgeHub: {
            type: 'docker',
            status: 'running',
            restartPolicy: 'always',
            settings: { image: 'mcr.microsoft.com/azureiotedge-hub:1.5' },
          },
        },
        modules: {},
      },
    },
    $edgeHub: { 'properties.desired': { schemaVersion: '1.1', routes: {} } },
  },
};

beforeAll(async () => {
  hub = await startHubEmulator();
  client = HubClient.fromConnectionString(hub.serviceConnectionString, { caPem: hub.ca });
});
afterAll(async () => {
  client.close();
  await hub.stop();
  hub.httpsAgent.destroy();
});

describe('HubClient', () => {
  it('reaches a hub at HostName=host:port behind a private CA', async () => {
    expect(client.hostName).toBe(hub.hostName);
    expect(await client.listConfigurations()).toEqual([]);
    expect(await client.getConfiguration('nothing-here')).toBeUndefined();
    expect(await client.getDevice('nobody')).toBeUndefined();
  });

  it("takes a caller's https agent instead (the emulator's documented seam), and leaves it open", async () => {
    const viaAgent = HubClient.fromConnectionString(hub.serviceConnectionString, { agent: hub.httpsAgent });
    expect(await viaAgent.listConfigurations()).toEqual([]);
    viaAgent.close();
    expect(await viaAgent.listConfigurations()).toEqual([]);
  });

  it("maps the hub's own 400 to a usage error carrying the hub's message", async () => {
    const e = await failure(
      client.addConfiguration({
        id: 'raw',
        schemaVersion: '1.0',
        content,
        targetCondition: "tags.x='",
        priority: 1,
      }),
    );
    expect(e.code).toBe('HUB_BAD_REQUEST');
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(`IoT Hub ${hub.hostName} refused to create deployment 'raw'`);
    expect(e.message).toContain('Invalid target condition');
  });

  it('maps a duplicate id to a conflict, and a stale etag to ETAG_MISMATCH', async () => {
    const created = await client.addConfiguration({
      id: 'dup',
      schemaVersion: '1.0',
      content,
      targetCondition: "tags.x='y'",
      priority: 1,
    });
    const dup = await failure(
      client.addConfiguration({
        id: 'dup',
        schemaVersion: '1.0',
        content,
        targetCondition: "tags.x='y'",
        priority: 1,
      }),
    );
    expect(dup).toMatchObject({ code: 'HUB_CONFLICT', exitCode: 4 });
    await client.updateConfiguration({ ...created, priority: 2 });
    const stale = await failure(client.updateConfiguration({ ...created, priority: 3 }));
    expect(stale).toMatchObject({ code: 'ETAG_MISMATCH', exitCode: 4 });
    expect((await client.getConfiguration('dup'))?.priority).toBe(2);
  });

  it('applyDeployment: created, then updated in place, then refused with other content', async () => {
    const req = { id: 'lib', targetCondition: "tags.ring='canary'", priority: 5 };
    expect((await applyDeployment(client, req, content)).outcome).toBe('created');
    expect((await applyDeployment(client, { ...req, priority: 6 }, content)).deployment.priority).toBe(6);
    const other = structuredClone(content);
    other.modulesContent.$edgeHub['properties.desired'].routes = { up: 'FROM /* INTO $upstream' } as never;
    expect(await failure(applyDeployment(client, req, other))).toMatchObject({
      code: 'DEPLOYMENT_EXISTS',
      exitCode: 4,
    });
  });

  it('gives up on a server that never answers, naming the host', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const quiet = HubClient.fromConnectionString(
      hub.serviceConnectionString.replace(/HostName=[^;]+/, `HostName=127.0.0.1:${port}`),
      { timeoutMs: 300 },
    );
    try {
      const e = await failure(quiet.listConfigurations());
      expect(e).toMatchObject({ code: 'HUB_TIMEOUT', exitCode: 5 });
      expect(e.message).toContain(`IoT Hub 127.0.0.1:${port} did not answer within 300 ms`);
    } finally {
      quiet.close();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});
