/**
 * A whole deployment manifest as the content of a *layered* deployment. IoT Hub applies a layered
 * deployment on top of the base deployment a device already has, path by path, so its content names
 * paths inside the module twins instead of whole desired documents (IoT Edge docs, "Layered deployment"):
 * - `$edgeAgent`: `properties.desired.modules.<module>` per module and
 *   `properties.desired.runtime.settings.registryCredentials.<name>` per registry credential;
 * - `$edgeHub`: `properties.desired.routes.<route>` per route;
 * - each custom module twin: `properties.desired.<property>` per top-level desired property, so other
 *   layers' properties of the same twin survive.
 * System modules, schemaVersion, runtime settings and store-and-forward are the base deployment's;
 * `leftOut` names those the manifest set to something other than the defaults, so the caller can warn.
 */
import { UsageError } from '../../common/errors.js';
import {
  DEFAULT_EDGE_AGENT_IMAGE,
  DEFAULT_EDGE_HUB_IMAGE,
  DEFAULT_STORE_AND_FORWARD_TTL_SECS,
  type ModulesContentWire,
} from '../../manifests/index.js';

export const DESIRED = 'properties.desired';

export type LayeredModulesContent = Record<string, Record<string, unknown>>;

export function toLayeredContent(modulesContent: ModulesContentWire): {
  modulesContent: LayeredModulesContent;
  leftOut: string[];
} {
  const agent = modulesContent.$edgeAgent[DESIRED];
  const hub = modulesContent.$edgeHub[DESIRED];
  const out: LayeredModulesContent = {};

  const agentPaths: Record<string, unknown> = {};
  for (const [name, module] of Object.entries(agent.modules ?? {}))
    agentPaths[`${DESIRED}.modules.${name}`] = module;
  for (const [name, credential] of Object.entries(agent.runtime?.settings?.registryCredentials ?? {})) {
    agentPaths[`${DESIRED}.runtime.settings.registryCredentials.${name}`] = credential;
  }
  if (Object.keys(agentPaths).length > 0) out['$edgeAgent'] = agentPaths;

  const hubPaths: Record<string, unknown> = {};
  for (const [name, route] of Object.entries(hub.routes ?? {})) hubPaths[`${DESIRED}.routes.${name}`] = route;
  if (Object.keys(hubPaths).length > 0) out['$edgeHub'] = hubPaths;

  for (const [name, twin] of Object.entries(modulesContent)) {
    if (name === '$edgeAgent' || name === '$edgeHub') continue;
    const paths: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(twin[DESIRED] ?? {})) paths[`${DESIRED}.${key}`] = value;
    if (Object.keys(paths).length > 0) out[name] = paths;
  }

  if (Object.keys(out).length === 0) {
    throw new UsageError(
      'LAYERED_DEPLOYMENT_EMPTY',
      'as a layered deployment this manifest sets nothing: it has no modules, routes or module twin properties',
    );
  }
  return { modulesContent: out, leftOut: leftOutParts(modulesContent) };
}

function leftOutParts(mc: ModulesContentWire): string[] {
  const agent = mc.$edgeAgent[DESIRED];
  const hub = mc.$edgeHub[DESIRED];
  const out: string[] = [];
  const system = agent.systemModules;
  if (
    system?.edgeAgent?.settings?.image !== DEFAULT_EDGE_AGENT_IMAGE ||
    Object.keys(system?.edgeAgent?.env ?? {}).length > 0
  ) {
    out.push('systemModules.edgeAgent');
  }
  if (
    system?.edgeHub?.settings?.image !== DEFAULT_EDGE_HUB_IMAGE ||
    Object.keys(system?.edgeHub?.env ?? {}).length > 0
  ) {
    out.push('systemModules.edgeHub');
  }
  const ttl = hub.storeAndForwardConfiguration?.timeToLiveSecs;
  if (ttl !== undefined && ttl !== DEFAULT_STORE_AND_FORWARD_TTL_SECS)
    out.push('storeAndForwardConfiguration');
  if (hub.mqttBroker !== undefined) out.push('mqttBroker');
  const { minDockerVersion, loggingOptions } = agent.runtime?.settings ?? {};
  if (
    (minDockerVersion !== undefined && minDockerVersion !== 'v1.25') ||
    (loggingOptions !== undefined && loggingOptions !== '')
  ) {
    out.push('runtime.settings');
  }
  return out;
}
