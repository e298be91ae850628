/**
 * The routes of IoT Hub's service REST API that the `azure-iothub` SDK calls for the features the
 * emulator has (read from node_modules/azure-iothub/dist: registry.js, device_method.js,
 * twin.js, query.js), answering in IoT Hub's JSON shapes.
 */
import type { ConfigurationRecord, ConfigurationStore } from './configuration-store.js';
import type { DeploymentEngine } from './deployment-engine.js';
import { badRequest } from './errors.js';
import type { IdentityStore } from './identity-store.js';
import { isJsonObject, type Json, type JsonObject } from './json-doc.js';
import type { MqttGateway } from './mqtt-gateway.js';
import {
  configurationDocument,
  deviceDocument,
  moduleDocument,
  readDeviceBody,
  readMethodBody,
  readModuleBody,
} from './rest-documents.js';
import { ifMatchOf, type RestRequest, type Route } from './rest-router.js';
import { ConditionSyntaxError, evaluateCondition, parseQuery } from './target-condition.js';
import { restTwinDocument, type TwinStore } from './twin-store.js';

export interface RouteDeps {
  identities: IdentityStore;
  twins: TwinStore;
  configurations: ConfigurationStore;
  engine: DeploymentEngine;
  gateway: MqttGateway;
}

export function hubRoutes(deps: RouteDeps): Route[] {
  const { identities, twins, configurations, engine, gateway } = deps;
  const p = (req: RestRequest, name: string): string => req.params[name] as string;

  const deviceTwin = (req: RestRequest) => {
    const device = identities.requireDevice(p(req, 'deviceId'));
    return restTwinDocument(twins.require(device.deviceId, undefined), device);
  };
  const moduleTwin = (req: RestRequest) => {
    const module = identities.requireModule(p(req, 'deviceId'), p(req, 'moduleId'));
    const device = identities.requireDevice(module.deviceId);
    return restTwinDocument(twins.require(module.deviceId, module.moduleId), device, module);
  };
  const configurationJson = (c: ConfigurationRecord) => configurationDocument(c, engine);

  return [
    // Devices
    {
      method: 'PUT',
      path: '/devices/:deviceId',
      right: 'RegistryWrite',
      handle: (req) => {
        const input = readDeviceBody(req.body, p(req, 'deviceId'));
        const ifMatch = ifMatchOf(req);
        const device =
          ifMatch === undefined ? identities.createDevice(input) : identities.updateDevice(input, ifMatch);
        // Turning the edge flag on makes the device one that edge deployments can target.
        engine.evaluateDevice(device.deviceId);
        return { status: 200, body: deviceDocument(device) };
      },
    },
    {
      method: 'GET',
      path: '/devices/:deviceId',
      right: 'RegistryRead',
      handle: (req) => ({ status: 200, body: deviceDocument(identities.requireDevice(p(req, 'deviceId'))) }),
    },
    {
      method: 'GET',
      path: '/devices',
      right: 'RegistryRead',
      handle: () => ({ status: 200, body: identities.listDevices().map(deviceDocument) }),
    },
    {
      method: 'DELETE',
      path: '/devices/:deviceId',
      right: 'RegistryWrite',
      handle: (req) => {
        identities.deleteDevice(p(req, 'deviceId'), ifMatchOf(req));
        return { status: 204 };
      },
    },
    // Modules
    {
      method: 'PUT',
      path: '/devices/:deviceId/modules/:moduleId',
      right: 'RegistryWrite',
      handle: (req) => {
        const input = readModuleBody(req.body, p(req, 'deviceId'), p(req, 'moduleId'));
        const ifMatch = ifMatchOf(req);
        const module =
          ifMatch === undefined ? identities.createModule(input) : identities.updateModule(input, ifMatch);
        return { status: 200, body: moduleDocument(module) };
      },
    },
    {
      method: 'GET',
      path: '/devices/:deviceId/modules/:moduleId',
      right: 'RegistryRead',
      handle: (req) => ({
        status: 200,
        body: moduleDocument(identities.requireModule(p(req, 'deviceId'), p(req, 'moduleId'))),
      }),
    },
    {
      method: 'GET',
      path: '/devices/:deviceId/modules',
      right: 'RegistryRead',
      handle: (req) => ({
        status: 200,
        body: identities.listModules(p(req, 'deviceId')).map(moduleDocument),
      }),
    },
    {
      method: 'DELETE',
      path: '/devices/:deviceId/modules/:moduleId',
      right: 'RegistryWrite',
      handle: (req) => {
        identities.deleteModule(p(req, 'deviceId'), p(req, 'moduleId'), ifMatchOf(req));
        return { status: 204 };
      },
    },
    // Twins
    {
      method: 'GET',
      path: '/twins/:deviceId',
      right: 'ServiceConnect',
      handle: (req) => ({ status: 200, body: deviceTwin(req) }),
    },
    {
      method: 'PATCH',
      path: '/twins/:deviceId',
      right: 'ServiceConnect',
      handle: (req) => {
        const device = identities.requireDevice(p(req, 'deviceId'));
        twins.patchFromService(twins.require(device.deviceId, undefined), req.body, ifMatchOf(req));
        return { status: 200, body: deviceTwin(req) };
      },
    },
    {
      method: 'GET',
      path: '/twins/:deviceId/modules/:moduleId',
      right: 'ServiceConnect',
      handle: (req) => ({ status: 200, body: moduleTwin(req) }),
    },
    {
      method: 'PATCH',
      path: '/twins/:deviceId/modules/:moduleId',
      right: 'ServiceConnect',
      handle: (req) => {
        const module = identities.requireModule(p(req, 'deviceId'), p(req, 'moduleId'));
        twins.patchFromService(twins.require(module.deviceId, module.moduleId), req.body, ifMatchOf(req));
        return { status: 200, body: moduleTwin(req) };
      },
    },
    // Direct methods
    {
      method: 'POST',
      path: '/twins/:deviceId/methods',
      right: 'ServiceConnect',
      handle: async (req) => {
        identities.requireDevice(p(req, 'deviceId'));
        const result = await gateway.invokeMethod(p(req, 'deviceId'), undefined, readMethodBody(req.body));
        return { status: 200, body: result };
      },
    },
    {
      method: 'POST',
      path: '/twins/:deviceId/modules/:moduleId/methods',
      right: 'ServiceConnect',
      handle: async (req) => {
        identities.requireModule(p(req, 'deviceId'), p(req, 'moduleId'));
        const result = await gateway.invokeMethod(
          p(req, 'deviceId'),
          p(req, 'moduleId'),
          readMethodBody(req.body),
        );
        return { status: 200, body: result };
      },
    },
    // Configurations
    {
      method: 'PUT',
      path: '/configurations/:configurationId',
      right: 'RegistryWrite',
      handle: (req) => {
        const config = configurations.put(p(req, 'configurationId'), req.body, ifMatchOf(req));
        engine.evaluateAll();
        return { status: 200, body: configurationJson(config) };
      },
    },
    {
      method: 'GET',
      path: '/configurations/:configurationId',
      right: 'RegistryRead',
      handle: (req) => ({
        status: 200,
        body: configurationJson(configurations.require(p(req, 'configurationId'))),
      }),
    },
    {
      method: 'GET',
      path: '/configurations',
      right: 'RegistryRead',
      handle: () => ({ status: 200, body: configurations.list().map(configurationJson) }),
    },
    {
      method: 'DELETE',
      path: '/configurations/:configurationId',
      right: 'RegistryWrite',
      handle: (req) => {
        configurations.delete(p(req, 'configurationId'), ifMatchOf(req));
        engine.evaluateAll();
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/devices/:deviceId/applyConfigurationContent',
      right: 'RegistryWrite',
      handle: (req) => {
        engine.applyContentOnDevice(p(req, 'deviceId'), req.body);
        return { status: 200, body: {} };
      },
    },
    // Queries and statistics
    {
      method: 'POST',
      path: '/devices/query',
      right: 'RegistryRead',
      handle: (req) => runQuery(req, deps),
    },
    {
      method: 'GET',
      path: '/statistics/devices',
      right: 'RegistryRead',
      handle: () => {
        const devices = identities.listDevices();
        const enabled = devices.filter((d) => d.status === 'enabled').length;
        return {
          status: 200,
          body: {
            totalDeviceCount: devices.length,
            enabledDeviceCount: enabled,
            disabledDeviceCount: devices.length - enabled,
          },
        };
      },
    },
  ];
}

function runQuery(req: RestRequest, deps: RouteDeps) {
  const { identities, twins } = deps;
  const text = isJsonObject(req.body) ? req.body.query : undefined;
  if (typeof text !== 'string') throw badRequest('The query body must be { "query": "SELECT …" }');
  let query: ReturnType<typeof parseQuery>;
  try {
    query = parseQuery(text);
  } catch (e) {
    if (e instanceof ConditionSyntaxError) throw badRequest(`Invalid query: ${e.message}`);
    throw e;
  }
  const docs: JsonObject[] = [];
  for (const device of identities.listDevices()) {
    const deviceTwin = twins.get(device.deviceId, undefined);
    if (!deviceTwin) continue;
    if (query.from === 'devices') {
      docs.push(restTwinDocument(deviceTwin, device));
      continue;
    }
    for (const module of identities.listModules(device.deviceId)) {
      const twin = twins.get(device.deviceId, module.moduleId);
      if (twin) docs.push(restTwinDocument(twin, device, module));
    }
  }
  const selected = docs
    .filter((d) => evaluateCondition(query.where, d))
    .map((d) => (query.select[0] === '*' ? d : project(d, query.select)));
  const pageSize = Number(req.headers['x-ms-max-item-count'] ?? 100) || 100;
  const start = Number(req.headers['x-ms-continuation'] ?? 0) || 0;
  const page = selected.slice(start, start + pageSize);
  const more = start + pageSize < selected.length;
  return {
    status: 200,
    body: page,
    headers: {
      'x-ms-item-type': query.select[0] === '*' ? 'Twin' : 'JSON',
      ...(more ? { 'x-ms-continuation': String(start + pageSize) } : {}),
    },
  };
}

function project(doc: JsonObject, paths: string[]): JsonObject {
  const out: JsonObject = {};
  for (const path of paths) {
    let cursor: Json | undefined = doc;
    for (const step of path.split('.')) cursor = isJsonObject(cursor) ? cursor[step] : undefined;
    if (cursor !== undefined) out[path.split('.').at(-1) as string] = cursor;
  }
  return out;
}
