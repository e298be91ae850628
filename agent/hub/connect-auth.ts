/**
 * The hub's check of a module's MQTT CONNECT, as edgeHub does it for SAS-authenticated modules:
 * client id `{deviceId}/{moduleId}`, user name `{host}/{deviceId}/{moduleId}/?api-version=…`
 * (host: the IoT Hub host name in the module's connection string, or the gateway host name), and a
 * SAS token for `{host}/devices/{deviceId}/modules/{moduleId}` signed with the module's key.
 * A pure decision; the verdict carries the CONNACK return code of a refusal.
 */
import { parseSasToken, verifySasToken } from './sas.js';

export interface ModuleKeys {
  primaryKey: string;
  secondaryKey: string;
}

export interface ConnectContext {
  deviceId: string;
  /** Host names a module may name (IoT Hub host name, gateway host name), compared case-insensitively. */
  hostNames: readonly string[];
  keysOf(moduleId: string): ModuleKeys | undefined;
  nowMs: number;
}

export type ConnectVerdict =
  | { ok: true; moduleId: string }
  /** 2 identifier rejected, 4 bad user name or password, 5 not authorized. */
  | { ok: false; returnCode: 2 | 4 | 5; reason: string };

export function checkModuleConnect(
  clientId: string,
  username: string | undefined,
  password: string | undefined,
  ctx: ConnectContext,
): ConnectVerdict {
  const refuse = (returnCode: 2 | 4 | 5, reason: string): ConnectVerdict => ({
    ok: false,
    returnCode,
    reason,
  });
  const [deviceId, moduleId, extra] = clientId.split('/');
  if (!deviceId || !moduleId || extra !== undefined)
    return refuse(2, `client id '${clientId}' is not '{deviceId}/{moduleId}'`);
  if (deviceId !== ctx.deviceId)
    return refuse(2, `client id '${clientId}' names device '${deviceId}', this hub serves '${ctx.deviceId}'`);
  const user = username ?? '';
  const host = ctx.hostNames.find((h) => user.toLowerCase().startsWith(`${h}/${clientId}/`.toLowerCase()));
  if (host === undefined)
    return refuse(
      4,
      `user name '${user}' must be '{host}/${clientId}/?api-version=…' with host one of ${ctx.hostNames.join(', ')}`,
    );
  if (!/[?&]api-version=/.test(user.slice(host.length + clientId.length + 2)))
    return refuse(4, `user name '${user}' has no api-version`);
  const keys = ctx.keysOf(moduleId);
  if (!keys) return refuse(5, `module '${moduleId}' has no identity on this hub`);
  const parsed = parseSasToken(password ?? '');
  if (!parsed.ok) return refuse(5, parsed.reason);
  const check = verifySasToken(parsed.token, {
    resources: ctx.hostNames.map((h) => `${h}/devices/${deviceId}/modules/${moduleId}`),
    keys: [keys.primaryKey, keys.secondaryKey],
    nowMs: ctx.nowMs,
  });
  if (!check.ok) return refuse(5, check.reason);
  return { ok: true, moduleId };
}
