/**
 * The service side of the emulator driven by the real azure-iothub Registry over HTTPS: service SAS,
 * devices, modules, twins with etags, queries, and the routes / api-versions the SDK really calls.
 */
import https from 'node:https';
import { Registry, SharedAccessSignature, versionQueryString } from 'azure-iothub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubEmulator, startHubEmulator } from '../../support/iothub/index.js';
import { registryOf, rejectionOf } from './sdk-clients.js';

let hub: HubEmulator;
let registry: Registry;

beforeAll(async () => {
  hub = await startHubEmulator();
  registry = registryOf(hub);
});
afterAll(() => hub.stop());

describe('service SAS', () => {
  it('refuses a wrong key with 401 IotHubUnauthorizedAccess', async () => {
    const wrong = hub.serviceConnectionString.replace(
      /SharedAccessKey=.*/,
      `SharedAccessKey=${Buffer.alloc(32, 3).toString('base64')}`,
    );
    const error = await rejectionOf(registryOf(hub, wrong).list());
    expect(error.name).toBe('UnauthorizedError');
    expect(error.response?.statusCode).toBe(401);
    expect(error.responseBody).toContain('ErrorCode:IotHubUnauthorizedAccess');
    expect(error.responseBody).toContain('signature does not match');
  });

  it('refuses an unknown policy and an expired token', async () => {
    const unknown = hub.serviceConnectionString.replace(
      'SharedAccessKeyName=iothubowner',
      'SharedAccessKeyName=nobody',
    );
    expect((await rejectionOf(registryOf(hub, unknown).list())).responseBody).toContain(
      "no shared access policy 'nobody'",
    );
    const ownerKey = /SharedAccessKey=(.*)$/.exec(hub.serviceConnectionString)?.[1] ?? '';
    const expired = SharedAccessSignature.create(
      hub.hostName,
      'iothubowner',
      ownerKey,
      Math.floor(Date.now() / 1000) - 10,
    );
    const stale = hub.configureServiceClient(Registry.fromSharedAccessSignature(expired.toString()));
    const error = await rejectionOf(stale.list());
    expect(error.name).toBe('UnauthorizedError');
    expect(error.responseBody).toContain('token expired');
  });

  it('checks the rights of the policy', async () => {
    const reader = registryOf(hub, hub.serviceConnectionStringFor('registryRead'));
    expect(Array.isArray((await reader.list()).responseBody)).toBe(true);
    const error = await rejectionOf(reader.create({ deviceId: 'rights-dev' }));
    expect(error.name).toBe('UnauthorizedError');
    expect(error.responseBody).toContain("policy 'registryRead' lacks the RegistryWrite permission");
  });
});

describe('devices', () => {
  it('creates a device with generated keys, refuses a duplicate, lists, updates and deletes it', async () => {
    const created = (await registry.create({ deviceId: 'reg-dev' })).responseBody;
    expect(created.authentication?.symmetricKey?.primaryKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(created).toMatchObject({
      deviceId: 'reg-dev',
      status: 'enabled',
      capabilities: { iotEdge: false },
    });

    const duplicate = await rejectionOf(registry.create({ deviceId: 'reg-dev' }));
    expect(duplicate.name).toBe('DeviceAlreadyExistsError');
    expect(duplicate.response?.statusCode).toBe(409);

    expect((await registry.list()).responseBody.map((d) => d.deviceId)).toContain('reg-dev');
    const updated = (await registry.update({ deviceId: 'reg-dev', status: 'disabled' })).responseBody;
    expect(updated.status).toBe('disabled');
    expect(updated.authentication?.symmetricKey?.primaryKey).toBe(
      created.authentication?.symmetricKey?.primaryKey,
    );
    expect(updated.etag).not.toBe(created.etag);

    await registry.delete('reg-dev');
    const gone = await rejectionOf(registry.get('reg-dev'));
    expect(gone.name).toBe('DeviceNotFoundError');
    expect(gone.responseBody).toContain('ErrorCode:DeviceNotFound');
  });

  it('keeps keys given by the caller and refuses an invalid device id', async () => {
    const primaryKey = Buffer.alloc(32, 5).toString('base64');
    const device = (
      await registry.create({
        deviceId: 'reg-keys',
        authentication: { symmetricKey: { primaryKey, secondaryKey: primaryKey } },
      })
    ).responseBody;
    expect(device.authentication?.symmetricKey?.primaryKey).toBe(primaryKey);
    const invalid = await rejectionOf(registry.create({ deviceId: 'bad id with spaces' }));
    expect(invalid.name).toBe('ArgumentError');
    expect(invalid.message).toContain("The device ID 'bad id with spaces' is invalid");
  });

  it('creates $edgeAgent and $edgeHub for an edge device and manages module identities', async () => {
    await registry.create({ deviceId: 'reg-edge', capabilities: { iotEdge: true } });
    const system = (await registry.getModulesOnDevice('reg-edge')).responseBody;
    expect(system.map((m) => m.moduleId).sort()).toEqual(['$edgeAgent', '$edgeHub']);
    expect(system[0]?.authentication?.symmetricKey?.primaryKey).toBeTruthy();

    const added = (await registry.addModule({ deviceId: 'reg-edge', moduleId: 'scoring' })).responseBody;
    expect(added).toMatchObject({ deviceId: 'reg-edge', moduleId: 'scoring' });
    expect((await registry.getModule('reg-edge', 'scoring')).responseBody.etag).toBe(added.etag);
    expect((await registry.getModulesOnDevice('reg-edge')).responseBody).toHaveLength(3);

    const duplicate = await rejectionOf(registry.addModule({ deviceId: 'reg-edge', moduleId: 'scoring' }));
    expect(duplicate.response?.statusCode).toBe(409);
    const reserved = await rejectionOf(registry.addModule({ deviceId: 'reg-edge', moduleId: '$mine' }));
    expect(reserved.name).toBe('ArgumentError');
    const noDevice = await rejectionOf(registry.addModule({ deviceId: 'reg-none', moduleId: 'x' }));
    expect(noDevice.name).toBe('DeviceNotFoundError');

    await registry.removeModule('reg-edge', 'scoring');
    const missing = await rejectionOf(registry.getModule('reg-edge', 'scoring'));
    expect(missing.response?.statusCode).toBe(404);
    expect(missing.responseBody).toContain('ErrorCode:ModuleNotFound');
  });
});

describe('twins', () => {
  it('updates tags and desired properties with the etag and refuses a stale etag with 412', async () => {
    await registry.create({ deviceId: 'twin-svc' });
    const twin = (await registry.getTwin('twin-svc')).responseBody;
    expect(twin.properties.desired.$version).toBe(1);
    const firstEtag = twin.etag;

    await twin.update({ tags: { env: 'prod', site: { floor: 2 } }, properties: { desired: { rate: 5 } } });
    expect(twin.tags).toEqual({ env: 'prod', site: { floor: 2 } });
    expect(twin.properties.desired).toMatchObject({ rate: 5, $version: 2 });
    expect(twin.etag).not.toBe(firstEtag);

    const stale = await rejectionOf(registry.updateTwin('twin-svc', { tags: { env: 'dev' } }, firstEtag));
    expect(stale.name).toBe('InvalidEtagError');
    expect(stale.response?.statusCode).toBe(412);
    expect(stale.responseBody).toContain('ErrorCode:PreconditionFailed');

    const patched = (await registry.updateTwin('twin-svc', { tags: { site: null } }, twin.etag)).responseBody;
    expect(patched.tags).toEqual({ env: 'prod' });
  });

  it('reads and updates module twins', async () => {
    await registry.create({ deviceId: 'twin-mod', capabilities: { iotEdge: true } });
    const agentTwin = (await registry.getModuleTwin('twin-mod', '$edgeAgent')).responseBody;
    expect(agentTwin).toMatchObject({ deviceId: 'twin-mod', moduleId: '$edgeAgent' });
    const updated = (
      await registry.updateModuleTwin(
        'twin-mod',
        '$edgeAgent',
        { properties: { desired: { schemaVersion: '1.1' } } },
        agentTwin.etag,
      )
    ).responseBody;
    expect(updated.properties.desired).toMatchObject({ schemaVersion: '1.1', $version: 2 });
    const stale = await rejectionOf(
      registry.updateModuleTwin('twin-mod', '$edgeAgent', { tags: { a: 'b' } }, agentTwin.etag),
    );
    expect(stale.name).toBe('InvalidEtagError');
  });

  it('refuses what IoT Hub refuses in a twin patch', async () => {
    await registry.create({ deviceId: 'twin-rules' });
    const reported = await rejectionOf(
      registry.updateTwin('twin-rules', { properties: { reported: { x: 1 } } }, '*'),
    );
    expect(reported.name).toBe('ArgumentError');
    expect(reported.message).toContain('Reported properties are set by the device');
    const tooLong = await rejectionOf(
      registry.updateTwin('twin-rules', { properties: { desired: { s: 'x'.repeat(5000) } } }, '*'),
    );
    expect(tooLong.message).toContain('is a string over 4096 bytes');
  });

  it('answers queries over device and module twins, page by page', async () => {
    for (const id of ['q-1', 'q-2', 'q-3']) {
      await registry.create({ deviceId: id });
      await registry.updateTwin(id, { tags: { fleet: 'query-test', n: Number(id.slice(2)) } }, '*');
    }
    const query = registry.createQuery(
      "SELECT * FROM devices WHERE tags.fleet = 'query-test' AND tags.n >= 2",
      1,
    );
    const seen: string[] = [];
    while (query.hasMoreResults) {
      const page = await query.nextAsTwin();
      seen.push(...page.result.map((t) => t.deviceId));
    }
    expect(seen.sort()).toEqual(['q-2', 'q-3']);
    const modules = await registry
      .createQuery("SELECT deviceId FROM devices.modules WHERE moduleId = '$edgeHub'")
      .next();
    expect(modules.result).toEqual(expect.arrayContaining([{ deviceId: 'twin-mod' }]));
  });
});

describe('routes', () => {
  it('calls only routes the emulator has, with the api-version of the installed SDK', () => {
    const calls = hub.requests();
    expect(calls.length).toBeGreaterThan(20);
    expect(calls.filter((c) => c.route === null)).toEqual([]);
    expect(new Set(calls.map((c) => c.apiVersion))).toEqual(
      new Set([versionQueryString().replace('?api-version=', '')]),
    );
  });

  it("answers an unknown route with 404 in IoT Hub's error shape, and a missing api-version with 400", async () => {
    const ownerKey = /SharedAccessKey=(.*)$/.exec(hub.serviceConnectionString)?.[1] ?? '';
    const auth = SharedAccessSignature.create(
      hub.hostName,
      'iothubowner',
      ownerKey,
      Math.floor(Date.now() / 1000) + 600,
    );
    const call = (path: string) =>
      new Promise<{ status: number; body: { Message: string; ExceptionMessage: string } }>(
        (resolve, reject) => {
          const req = https.request(
            {
              agent: hub.httpsAgent,
              path,
              method: 'GET',
              headers: { Authorization: auth.toString(), Host: hub.hostName },
            },
            (res) => {
              let text = '';
              res.on('data', (chunk: Buffer) => {
                text += chunk;
              });
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
            },
          );
          req.on('error', reject);
          req.end();
        },
      );
    const unknown = await call('/jobs/v2?api-version=2021-04-12');
    expect(unknown.status).toBe(404);
    expect(unknown.body.Message).toBe(
      "ErrorCode:NotFound;GET /jobs/v2 is not a route of IoT Hub's service API here",
    );
    expect(unknown.body.ExceptionMessage).toMatch(/^Tracking ID:[0-9a-f]{32}-G:0-TimeStamp:/);
    expect(hub.requests().at(-1)).toMatchObject({ path: '/jobs/v2', route: null, status: 404 });
    const noVersion = await call('/devices');
    expect(noVersion.status).toBe(400);
    expect(noVersion.body.Message).toContain('ErrorCode:InvalidProtocolVersion');
  });
});
