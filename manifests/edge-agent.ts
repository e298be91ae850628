/** Reads `$edgeAgent` desired properties (wire shape) into the normalized EdgeAgentDesired. */

import { isCreateOptionsKey, joinCreateOptionsInto } from './create-options.js';
import { checkCreateOptionsFields } from './docker-create-fields.js';
import type { IssueList, PathSegment } from './errors.js';
import { type Json, Reader } from './read-helpers.js';
import { checkImage, checkModuleName, readEnv, TWIN_NAME_PATTERN } from './semantic-checks.js';
import {
  DEFAULT_STARTUP_ORDER,
  EDGE_AGENT_SCHEMA_VERSIONS,
  type EdgeAgentDesired,
  type EdgeAgentSystemModule,
  type EdgeHubSystemModule,
  type EdgeModule,
  IMAGE_PULL_POLICIES,
  MAX_STARTUP_ORDER,
  MODULE_STATUSES,
  type ModuleSettings,
  RESTART_POLICIES,
  type RegistryCredential,
} from './types.js';

const CREATE_OPTIONS_KEY_PATTERN = /^(?:createoptions|createOptions)[0-9]*$/;

const MODULE_KEYS = [
  'version',
  'type',
  'status',
  'restartPolicy',
  'env',
  'settings',
  'imagePullPolicy',
  'startupOrder',
];
const EDGE_HUB_KEYS = [
  'type',
  'status',
  'restartPolicy',
  'env',
  'settings',
  'imagePullPolicy',
  'startupOrder',
];
const EDGE_AGENT_KEYS = ['type', 'env', 'settings', 'imagePullPolicy'];

/** Removes the read-only `$version`, `$metadata` (and any other `$`-prefixed) keys a twin carries. */
export function stripTwinMetadata(desired: Json): Json {
  return Object.fromEntries(Object.entries(desired).filter(([k]) => !k.startsWith('$')));
}

export function readEdgeAgentDesired(
  raw: Json,
  path: readonly PathSegment[],
  issues: IssueList,
): EdgeAgentDesired | undefined {
  const r = new Reader(issues);
  const before = issues.items.length;
  r.knownKeys(raw, ['schemaVersion', 'runtime', 'systemModules', 'modules'], path);

  const schemaVersion = r.requiredString(raw, 'schemaVersion', path);
  if (
    schemaVersion !== undefined &&
    !(EDGE_AGENT_SCHEMA_VERSIONS as readonly string[]).includes(schemaVersion)
  ) {
    issues.add(
      [...path, 'schemaVersion'],
      'schema-version',
      `$edgeAgent schemaVersion must be one of ${EDGE_AGENT_SCHEMA_VERSIONS.join(', ')}; got '${schemaVersion}'`,
    );
  }
  const ctx: ModuleContext = { r, issues, schemaVersion };

  const runtime = readRuntime(r.requiredObject(raw, 'runtime', path), [...path, 'runtime'], r);

  const sysPath = [...path, 'systemModules'];
  const sys = r.requiredObject(raw, 'systemModules', path);
  let edgeAgent: EdgeAgentSystemModule | undefined;
  let edgeHub: EdgeHubSystemModule | undefined;
  if (sys) {
    r.knownKeys(sys, ['edgeAgent', 'edgeHub'], sysPath);
    const agentRaw = r.requiredObject(sys, 'edgeAgent', sysPath);
    if (agentRaw) edgeAgent = readEdgeAgentModule(agentRaw, [...sysPath, 'edgeAgent'], ctx);
    const hubRaw = r.requiredObject(sys, 'edgeHub', sysPath);
    if (hubRaw) edgeHub = readModule(hubRaw, [...sysPath, 'edgeHub'], ctx, EDGE_HUB_KEYS);
  }

  const modules: Record<string, EdgeModule> = {};
  const modulesPath = [...path, 'modules'];
  const modulesRaw = r.requiredObject(raw, 'modules', path);
  for (const [name, value] of Object.entries(modulesRaw ?? {})) {
    const here = [...modulesPath, name];
    if (!checkModuleName(name, here, issues)) continue;
    const m = r.object(value, here);
    const mod = m && readModule(m, here, ctx, MODULE_KEYS);
    if (mod) modules[name] = mod;
  }

  if (issues.items.length > before || !schemaVersion || !runtime || !edgeAgent || !edgeHub) return undefined;
  return { schemaVersion, runtime, systemModules: { edgeAgent, edgeHub }, modules };
}

interface ModuleContext {
  r: Reader;
  issues: IssueList;
  schemaVersion: string | undefined;
}

function readRuntime(
  raw: Json | undefined,
  path: readonly PathSegment[],
  r: Reader,
): EdgeAgentDesired['runtime'] | undefined {
  if (!raw) return undefined;
  r.knownKeys(raw, ['type', 'settings'], path);
  const type = r.enumValue(raw, 'type', ['docker'] as const, path);
  const settingsPath = [...path, 'settings'];
  const settings = r.requiredObject(raw, 'settings', path);
  if (!settings || !type) return undefined;
  r.knownKeys(settings, ['minDockerVersion', 'loggingOptions', 'registryCredentials'], settingsPath);
  const minDockerVersion = r.optionalString(settings, 'minDockerVersion', settingsPath);
  const loggingOptions = r.optionalString(settings, 'loggingOptions', settingsPath);
  const registryCredentials: Record<string, RegistryCredential> = {};
  const credsPath = [...settingsPath, 'registryCredentials'];
  for (const [name, value] of Object.entries(
    r.optionalObject(settings, 'registryCredentials', settingsPath) ?? {},
  )) {
    const here = [...credsPath, name];
    if (!TWIN_NAME_PATTERN.test(name)) {
      r.issues.add(
        here,
        'additionalProperties',
        "registry credential names may not contain '.', '$', '#' or spaces",
      );
      continue;
    }
    const cred = r.object(value, here);
    if (!cred) continue;
    r.knownKeys(cred, ['username', 'password', 'address'], here);
    const username = r.requiredString(cred, 'username', here);
    const password = r.requiredString(cred, 'password', here);
    const address = r.requiredString(cred, 'address', here);
    if (address !== undefined && !/^\S+$/.test(address)) {
      r.issues.add(
        [...here, 'address'],
        'pattern',
        'registry address must be non-empty and contain no whitespace',
      );
    }
    if (username !== undefined && password !== undefined && address !== undefined) {
      registryCredentials[name] = { address, username, password };
    }
  }
  return {
    type,
    settings: {
      ...(minDockerVersion !== undefined && { minDockerVersion }),
      ...(loggingOptions !== undefined && { loggingOptions }),
      registryCredentials,
    },
  };
}

function readSettings(
  raw: Json,
  path: readonly PathSegment[],
  ctx: ModuleContext,
): ModuleSettings | undefined {
  const { r, issues } = ctx;
  const settings = r.requiredObject(raw, 'settings', path);
  if (!settings) return undefined;
  const here = [...path, 'settings'];
  r.knownKeys(settings, ['image'], here, [CREATE_OPTIONS_KEY_PATTERN]);
  const image = r.requiredString(settings, 'image', here);
  if (image !== undefined) checkImage(image, [...here, 'image'], issues);
  const chunks = Object.fromEntries(Object.entries(settings).filter(([k]) => isCreateOptionsKey(k)));
  const createOptions = joinCreateOptionsInto(chunks, here, issues);
  if (createOptions) checkCreateOptionsFields(createOptions, [...here, 'createOptions'], issues);
  return image !== undefined && createOptions ? { image, createOptions } : undefined;
}

function readEdgeAgentModule(
  raw: Json,
  path: readonly PathSegment[],
  ctx: ModuleContext,
): EdgeAgentSystemModule | undefined {
  const { r, issues } = ctx;
  r.knownKeys(raw, EDGE_AGENT_KEYS, path);
  const type = r.enumValue(raw, 'type', ['docker'] as const, path);
  const imagePullPolicy = r.enumValue(raw, 'imagePullPolicy', IMAGE_PULL_POLICIES, path, 'on-create');
  const env = readEnv(raw['env'], [...path, 'env'], issues);
  const settings = readSettings(raw, path, ctx);
  if (!type || !imagePullPolicy || !settings) return undefined;
  return { type, imagePullPolicy, env, settings };
}

function readModule(
  raw: Json,
  path: readonly PathSegment[],
  ctx: ModuleContext,
  knownKeys: readonly string[],
): EdgeModule | undefined {
  const { r, issues } = ctx;
  r.knownKeys(raw, knownKeys, path);
  const version = knownKeys.includes('version') ? r.optionalString(raw, 'version', path) : undefined;
  const type = r.enumValue(raw, 'type', ['docker'] as const, path);
  const status = r.enumValue(raw, 'status', MODULE_STATUSES, path);
  const restartPolicy = r.enumValue(raw, 'restartPolicy', RESTART_POLICIES, path);
  const imagePullPolicy = r.enumValue(raw, 'imagePullPolicy', IMAGE_PULL_POLICIES, path, 'on-create');
  const startupOrder = r.integer(raw, 'startupOrder', 0, MAX_STARTUP_ORDER, path, DEFAULT_STARTUP_ORDER);
  if (raw['startupOrder'] !== undefined && ctx.schemaVersion === '1.0') {
    issues.add(
      [...path, 'startupOrder'],
      'schema-version',
      'startupOrder needs $edgeAgent schemaVersion 1.1',
    );
  }
  const env = readEnv(raw['env'], [...path, 'env'], issues);
  const settings = readSettings(raw, path, ctx);
  if (!type || !status || !restartPolicy || !imagePullPolicy || startupOrder === undefined || !settings) {
    return undefined;
  }
  return {
    ...(version !== undefined && { version }),
    type,
    status,
    restartPolicy,
    startupOrder,
    imagePullPolicy,
    env,
    settings,
  };
}
