import { describe, expect, it } from 'vitest';
import { type ConnectRequest, checkConnect } from '../../../test/support/iothub/connect-check.js';
import { IdentityStore } from '../../../test/support/iothub/identity-store.js';
import { createSasToken } from '../../../test/support/iothub/sas.js';

const HOST = 'localhost:8883';
const NOW = Date.UTC(2030, 0, 1);
const LATER = NOW / 1000 + 600;

function setup() {
  const identities = new IdentityStore(
    {
      deviceCreated: () => {},
      deviceDeleted: () => {},
      moduleCreated: () => {},
      moduleDeleted: () => {},
      credentialsRevoked: () => {},
    },
    () => new Date(NOW),
  );
  const device = identities.createDevice({ deviceId: 'edge-1', edge: true });
  const agent = identities.requireModule('edge-1', '$edgeAgent');
  const devicePolicy = identities.addPolicy('device', ['DeviceConnect']);
  const registryPolicy = identities.addPolicy('registryRead', ['RegistryRead']);
  const request = (overrides: Partial<ConnectRequest>): ConnectRequest => ({
    clientId: 'edge-1',
    username: `${HOST}/edge-1/?api-version=2021-04-12&DeviceClientType=test`,
    password: createSasToken({
      resource: `${HOST}/devices/edge-1`,
      keyBase64: device.keys.primaryKey,
      expiresAtSeconds: LATER,
    }),
    hostName: HOST,
    identities,
    refusing: false,
    nowMs: NOW,
    ...overrides,
  });
  return { request, agent, devicePolicy, registryPolicy };
}

describe('MQTT CONNECT checks', () => {
  it('accepts a device with its own token and a module with its own', () => {
    const { request, agent } = setup();
    expect(checkConnect(request({}))).toEqual({ ok: true, deviceId: 'edge-1', moduleId: undefined });
    const moduleToken = createSasToken({
      resource: `${HOST}/devices/edge-1/modules/$edgeAgent`,
      keyBase64: agent.keys.secondaryKey,
      expiresAtSeconds: LATER,
    });
    expect(
      checkConnect(
        request({
          clientId: 'edge-1/$edgeAgent',
          username: `${HOST}/edge-1/$edgeAgent/?api-version=2021-04-12`,
          password: moduleToken,
        }),
      ),
    ).toEqual({ ok: true, deviceId: 'edge-1', moduleId: '$edgeAgent' });
  });

  it('accepts a hub token of a policy with DeviceConnect, and refuses one without it', () => {
    const { request, devicePolicy, registryPolicy } = setup();
    const token = (keyName: string, key: string) =>
      createSasToken({ resource: HOST, keyBase64: key, expiresAtSeconds: LATER, keyName });
    expect(checkConnect(request({ password: token('device', devicePolicy.primaryKey) })).ok).toBe(true);
    expect(checkConnect(request({ password: token('registryRead', registryPolicy.primaryKey) }))).toEqual({
      ok: false,
      returnCode: 5,
      reason: "policy 'registryRead' does not exist or lacks DeviceConnect",
    });
  });

  it.each([
    [{ refusing: true }, 3, 'refusing connections'],
    [{ clientId: 'a/b/c' }, 2, "client id 'a/b/c' is not deviceId[/moduleId]"],
    [
      { username: 'otherhost/edge-1/?api-version=1' },
      2,
      "user name must start with 'localhost:8883/edge-1/'",
    ],
    [{ username: `${HOST}/edge-1/` }, 2, 'user name has no api-version'],
    [{ password: 'secret' }, 5, 'password is not a SAS token'],
    [{ password: undefined }, 5, 'password is not a SAS token'],
  ])('refuses %j with CONNACK %i', (overrides, returnCode, reason) => {
    const { request } = setup();
    const verdict = checkConnect(request(overrides as Partial<ConnectRequest>));
    expect(verdict).toMatchObject({ ok: false, returnCode });
    expect(verdict.ok ? '' : verdict.reason).toContain(reason);
  });
});
