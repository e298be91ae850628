/**
 * IoT Hub's REST JSON shapes: request bodies read into store inputs, and devices, modules and
 * configurations written the way IoT Hub answers them.
 */
import type { ConfigurationRecord } from './configuration-store.js';
import type { DeploymentEngine } from './deployment-engine.js';
import type { MethodRequest } from './direct-methods.js';
import { badRequest } from './errors.js';
import { type DeviceIdentity, etagOf, type ModuleIdentity } from './identity-store.js';
import { isJsonObject, type Json, type JsonObject } from './json-doc.js';

export function readDeviceBody(body: unknown, deviceId: string) {
  if (!isJsonObject(body)) throw badRequest('The device must be a JSON object');
  if (body.deviceId !== undefined && body.deviceId !== deviceId) {
    throw badRequest(`The body names device '${String(body.deviceId)}' but the URL names '${deviceId}'`);
  }
  const status = body.status ?? undefined;
  if (status !== undefined && status !== 'enabled' && status !== 'disabled') {
    throw badRequest(`status must be 'enabled' or 'disabled', not ${JSON.stringify(status)}`);
  }
  const capabilities = isJsonObject(body.capabilities) ? body.capabilities : {};
  return {
    deviceId,
    status: status as 'enabled' | 'disabled' | undefined,
    statusReason: typeof body.statusReason === 'string' ? body.statusReason : undefined,
    edge: typeof capabilities.iotEdge === 'boolean' ? capabilities.iotEdge : undefined,
    keys: readKeys(body.authentication),
  };
}

export function readModuleBody(body: unknown, deviceId: string, moduleId: string) {
  if (!isJsonObject(body)) throw badRequest('The module must be a JSON object');
  if (
    (body.deviceId !== undefined && body.deviceId !== deviceId) ||
    (body.moduleId !== undefined && body.moduleId !== moduleId)
  ) {
    throw badRequest(
      `The body names ${String(body.deviceId)}/${String(body.moduleId)} but the URL ${deviceId}/${moduleId}`,
    );
  }
  return {
    deviceId,
    moduleId,
    managedBy: typeof body.managedBy === 'string' ? body.managedBy : undefined,
    keys: readKeys(body.authentication),
  };
}

function readKeys(authentication: Json | undefined): { primaryKey?: string; secondaryKey?: string } {
  if (!isJsonObject(authentication)) return {};
  if (authentication.type !== undefined && authentication.type !== 'sas') {
    throw badRequest(`Only SAS authentication is emulated, not '${String(authentication.type)}'`);
  }
  const symmetricKey = isJsonObject(authentication.symmetricKey) ? authentication.symmetricKey : {};
  return {
    primaryKey: typeof symmetricKey.primaryKey === 'string' ? symmetricKey.primaryKey : undefined,
    secondaryKey: typeof symmetricKey.secondaryKey === 'string' ? symmetricKey.secondaryKey : undefined,
  } as { primaryKey?: string; secondaryKey?: string };
}

export function readMethodBody(body: unknown): MethodRequest {
  if (!isJsonObject(body) || typeof body.methodName !== 'string') {
    throw badRequest(
      'The method call must be { methodName, payload, responseTimeoutInSeconds, connectTimeoutInSeconds }',
    );
  }
  const number = (v: Json | undefined) => (typeof v === 'number' ? v : undefined);
  return {
    methodName: body.methodName,
    payload: body.payload,
    responseTimeoutInSeconds: number(body.responseTimeoutInSeconds),
    connectTimeoutInSeconds: number(body.connectTimeoutInSeconds),
  } as MethodRequest;
}

function authenticationDocument(keys: { primaryKey: string; secondaryKey: string }): JsonObject {
  return {
    symmetricKey: { primaryKey: keys.primaryKey, secondaryKey: keys.secondaryKey },
    x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null },
    type: 'sas',
  };
}

export function deviceDocument(device: DeviceIdentity): JsonObject {
  return {
    deviceId: device.deviceId,
    generationId: device.generationId,
    etag: etagOf(device.revision),
    connectionState: device.connectionState,
    status: device.status,
    statusReason: device.statusReason,
    connectionStateUpdatedTime: device.connectionStateUpdatedTime,
    statusUpdatedTime: device.statusUpdatedTime,
    lastActivityTime: device.lastActivityTime,
    cloudToDeviceMessageCount: 0,
    authentication: authenticationDocument(device.keys),
    capabilities: { iotEdge: device.edge },
  };
}

export function moduleDocument(module: ModuleIdentity): JsonObject {
  return {
    moduleId: module.moduleId,
    managedBy: module.managedBy,
    deviceId: module.deviceId,
    generationId: module.generationId,
    etag: etagOf(module.revision),
    connectionState: module.connectionState,
    connectionStateUpdatedTime: module.connectionStateUpdatedTime,
    lastActivityTime: module.lastActivityTime,
    cloudToDeviceMessageCount: 0,
    authentication: authenticationDocument(module.keys),
  };
}

const SYSTEM_METRIC_QUERIES = (id: string): Record<string, string> => ({
  targetedCount: `select deviceId from devices where configurations.[[${id}]].status = 'Targeted' or configurations.[[${id}]].status = 'Applied'`,
  appliedCount: `select deviceId from devices.modules where moduleId = '$edgeAgent' and configurations.[[${id}]].status = 'Applied'`,
  reportedSuccessfulCount: `select deviceId from devices.modules where moduleId = '$edgeAgent' and configurations.[[${id}]].status = 'Applied' and properties.desired.$version = properties.reported.lastDesiredVersion and properties.reported.lastDesiredStatus.code = 200`,
  reportedFailedCount: `select deviceId from devices.modules where moduleId = '$edgeAgent' and configurations.[[${id}]].status = 'Applied' and properties.desired.$version = properties.reported.lastDesiredVersion and properties.reported.lastDesiredStatus.code != 200`,
});

export function configurationDocument(config: ConfigurationRecord, engine: DeploymentEngine): JsonObject {
  const metricResults: JsonObject = {};
  for (const [name, query] of config.parsedMetricQueries) metricResults[name] = engine.countQuery(query);
  return {
    id: config.id,
    schemaVersion: config.schemaVersion,
    labels: { ...config.labels },
    content: structuredClone(config.content) as JsonObject,
    contentType: 'assignment',
    targetCondition: config.targetCondition,
    createdTimeUtc: config.createdTimeUtc,
    lastUpdatedTimeUtc: config.lastUpdatedTimeUtc,
    priority: config.priority,
    systemMetrics: {
      results: { ...engine.systemMetrics(config) },
      queries: SYSTEM_METRIC_QUERIES(config.id),
    },
    metrics: { results: metricResults, queries: { ...config.metricQueries } },
    etag: etagOf(config.revision),
  };
}
