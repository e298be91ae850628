/**
 * IoT Hub's checks of an MQTT CONNECT, in its order, as a pure decision: the verdict names the
 * identity, or carries the CONNACK return code of the refusal and a reason for test logs
 * (2 identifier rejected, 3 server unavailable, 5 not authorized).
 */
import type { IdentityStore } from './identity-store.js';
import { parseSasToken, verifySasToken } from './sas.js';

export interface ConnectRequest {
  clientId: string;
  username: string | undefined;
  /** The CONNECT password: a SAS token. */
  password: string | undefined;
  hostName: string;
  identities: IdentityStore;
  /** True while `faults.refuseFor` is in force. */
  refusing: boolean;
  nowMs: number;
}

export type ConnectVerdict =
  | { ok: true; deviceId: string; moduleId: string | undefined }
  | { ok: false; returnCode: 2 | 3 | 5; reason: string };

export function checkConnect(req: ConnectRequest): ConnectVerdict {
  const refuse = (returnCode: 2 | 3 | 5, reason: string): ConnectVerdict => ({
    ok: false,
    returnCode,
    reason,
  });
  if (req.refusing) return refuse(3, 'the hub is refusing connections (fault)');
  const [deviceId, moduleId, extra] = req.clientId.split('/');
  if (!deviceId || extra !== undefined)
    return refuse(2, `client id '${req.clientId}' is not deviceId[/moduleId]`);
  const host = req.hostName;
  const prefix = `${host}/${req.clientId}/`;
  const username = req.username ?? '';
  if (username.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()) {
    return refuse(2, `user name must start with '${prefix}' (got '${username}')`);
  }
  if (!/[?&]api-version=/.test(username.slice(prefix.length)))
    return refuse(2, 'user name has no api-version');
  const device = req.identities.getDevice(deviceId);
  const identity = moduleId === undefined ? device : req.identities.getModule(deviceId, moduleId);
  if (!device || !identity) return refuse(5, `identity '${req.clientId}' is not registered`);
  if (device.status !== 'enabled') return refuse(5, `device '${deviceId}' is disabled`);
  const parsed = parseSasToken(req.password ?? '');
  if (!parsed.ok) return refuse(5, `password is not a SAS token: ${parsed.reason}`);
  const skn = parsed.token.skn;
  const policy = skn === undefined ? undefined : req.identities.policies.get(skn);
  if (skn !== undefined && !policy?.rights.includes('DeviceConnect')) {
    return refuse(5, `policy '${skn}' does not exist or lacks DeviceConnect`);
  }
  // A device token names the device (or module); a policy token with DeviceConnect names the hub.
  const resource = policy
    ? host
    : `${host}/devices/${deviceId}${moduleId === undefined ? '' : `/modules/${moduleId}`}`;
  const keys = policy
    ? [policy.primaryKey, policy.secondaryKey]
    : [identity.keys.primaryKey, identity.keys.secondaryKey];
  const check = verifySasToken(parsed.token, { resource, keys, nowMs: req.nowMs });
  if (!check.ok) return refuse(5, check.reason);
  return { ok: true, deviceId, moduleId };
}
