/**
 * IoT Edge deployments through IoT Hub: at-scale (and layered) deployments as IoT Hub configurations,
 * and a manifest applied to one device. Works the same against IoT Hub and anything that speaks its
 * REST API; nothing is sent until the request has been checked, and every change is a single call.
 */
import type { Configuration, ConfigurationContent } from 'azure-iothub';
import { canonicalJson } from '../../common/canonical-json.js';
import { ConflictError, NotFoundError, UsageError } from '../../common/errors.js';
import { checkDeploymentId, checkDeploymentRequest, type DeploymentRequest } from './deployment-request.js';
import type { HubClient } from './hub-client.js';
import { DESIRED } from './layered.js';

export interface DeploymentMetrics {
  /** Devices whose twin the target condition selects. */
  targeted?: number;
  /** Devices this deployment is applied to (not shadowed by a higher-priority one). */
  applied?: number;
  /** Applied devices whose edgeAgent reported the deployment's desired version with code 200. */
  reportedSuccessful?: number;
  reportedFailed?: number;
  /** Results of the deployment's own metric queries, by name. */
  custom: Record<string, number>;
}

export interface DeploymentSummary {
  id: string;
  etag?: string;
  priority: number;
  targetCondition: string;
  labels: Record<string, string>;
  layered: boolean;
  createdTimeUtc?: string;
  lastUpdatedTimeUtc?: string;
  modules: { name: string; image?: string }[];
  metrics: DeploymentMetrics;
  metricQueries: Record<string, string>;
}

export type DeploymentOutcome = 'created' | 'updated' | 'unchanged';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether IoT Edge deployment content is layered (no whole `$edgeAgent` desired document). */
export function isLayered(content: ConfigurationContent | undefined): boolean {
  const agent = content?.modulesContent?.['$edgeAgent'];
  return !(isObject(agent) && DESIRED in agent);
}

function modulesOf(content: ConfigurationContent | undefined): { name: string; image?: string }[] {
  const agent = content?.modulesContent?.['$edgeAgent'];
  if (!isObject(agent)) return [];
  const entries: [string, unknown][] = [];
  const whole = agent[DESIRED];
  if (isObject(whole) && isObject(whole['modules'])) entries.push(...Object.entries(whole['modules']));
  for (const [key, value] of Object.entries(agent)) {
    const m = /^properties\.desired\.modules\.([^.]+)$/.exec(key);
    if (m?.[1]) entries.push([m[1], value]);
  }
  return entries.map(([name, module]) => {
    const image = isObject(module) && isObject(module['settings']) ? module['settings']['image'] : undefined;
    return { name, ...(typeof image === 'string' && { image }) };
  });
}

export function summarizeDeployment(c: Configuration): DeploymentSummary {
  const system = c.systemMetrics?.results ?? {};
  return {
    id: c.id,
    ...(c.etag !== undefined && { etag: c.etag }),
    priority: c.priority ?? 0,
    targetCondition: c.targetCondition ?? '',
    labels: c.labels ?? {},
    layered: isLayered(c.content),
    ...(c.createdTimeUtc !== undefined && { createdTimeUtc: c.createdTimeUtc }),
    ...(c.lastUpdatedTimeUtc !== undefined && { lastUpdatedTimeUtc: c.lastUpdatedTimeUtc }),
    modules: modulesOf(c.content),
    metrics: {
      ...(system['targetedCount'] !== undefined && { targeted: system['targetedCount'] }),
      ...(system['appliedCount'] !== undefined && { applied: system['appliedCount'] }),
      ...(system['reportedSuccessfulCount'] !== undefined && {
        reportedSuccessful: system['reportedSuccessfulCount'],
      }),
      ...(system['reportedFailedCount'] !== undefined && { reportedFailed: system['reportedFailedCount'] }),
      custom: { ...(c.metrics?.results ?? {}) },
    },
    metricQueries: { ...(c.metrics?.queries ?? {}) },
  };
}

const isEdgeDeployment = (c: Configuration): boolean =>
  isObject(c.content?.modulesContent) && Object.keys(c.content.modulesContent).length > 0;

const sameJson = (a: unknown, b: unknown): boolean => canonicalJson(a ?? null) === canonicalJson(b ?? null);

/**
 * Creates the deployment `req.id` with `content`, or, when it exists with the same content, updates its
 * target condition, priority, labels and metrics (read, modify, write with If-Match). IoT Hub never
 * changes a deployment's content, so an existing id with other content is a ConflictError (exit 4), as
 * is a stale etag. Nothing is sent when the request is invalid or nothing would change.
 */
export async function applyDeployment(
  hub: HubClient,
  req: DeploymentRequest,
  content: ConfigurationContent,
): Promise<{ outcome: DeploymentOutcome; deployment: DeploymentSummary }> {
  checkDeploymentRequest(req);
  const existing = await hub.getConfiguration(req.id);
  if (!existing) {
    if (req.etag !== undefined) {
      throw new NotFoundError(
        'DEPLOYMENT_NOT_FOUND',
        `deployment '${req.id}' does not exist, so --etag cannot match`,
        {
          hint: 'leave out --etag to create it',
        },
      );
    }
    const created = await createDeployment(hub, req, content);
    return { outcome: 'created', deployment: summarizeDeployment(created) };
  }
  if (!isEdgeDeployment(existing)) {
    throw new ConflictError(
      'DEPLOYMENT_EXISTS',
      `'${req.id}' is already used by an IoT Hub configuration that is not an IoT Edge deployment`,
      { hint: 'choose another --id' },
    );
  }
  if (!sameJson(existing.content?.modulesContent, content.modulesContent)) {
    throw new ConflictError(
      'DEPLOYMENT_EXISTS',
      `deployment '${req.id}' already exists with other content, and IoT Hub cannot change a deployment's content`,
      {
        hint: `deploy the new content under a new --id with a higher --priority, then delete '${req.id}' (modelport deployment delete ${req.id})`,
        details: { etag: existing.etag },
      },
    );
  }
  const metrics = req.metrics ?? existing.metrics?.queries ?? {};
  const labels = req.labels ?? existing.labels ?? {};
  const unchanged =
    existing.targetCondition === req.targetCondition &&
    existing.priority === req.priority &&
    sameJson(existing.labels ?? {}, labels) &&
    sameJson(existing.metrics?.queries ?? {}, metrics);
  // With --etag the hub itself checks it (If-Match), even when nothing else changes.
  if (unchanged && req.etag === undefined)
    return { outcome: 'unchanged', deployment: summarizeDeployment(existing) };
  const update: Configuration = {
    id: existing.id,
    schemaVersion: existing.schemaVersion,
    labels,
    content: existing.content ?? content,
    targetCondition: req.targetCondition,
    priority: req.priority,
    metrics: { queries: metrics },
    etag: req.etag ?? existing.etag ?? '*',
  };
  try {
    const updated = await hub.updateConfiguration(update);
    return { outcome: 'updated', deployment: summarizeDeployment(updated) };
  } catch (e) {
    if (e instanceof ConflictError && e.code === 'ETAG_MISMATCH') {
      throw etagConflict(req.id, update.etag ?? '', req.etag === undefined ? undefined : existing.etag);
    }
    throw e;
  }
}

async function createDeployment(hub: HubClient, req: DeploymentRequest, content: ConfigurationContent) {
  try {
    return await hub.addConfiguration({
      id: req.id,
      schemaVersion: '1.0',
      labels: req.labels ?? {},
      content: { modulesContent: content.modulesContent },
      targetCondition: req.targetCondition,
      priority: req.priority,
      metrics: { queries: req.metrics ?? {} },
    });
  } catch (e) {
    if (e instanceof ConflictError && e.code === 'HUB_CONFLICT') {
      throw new ConflictError(
        'DEPLOYMENT_EXISTS',
        `deployment '${req.id}' already exists (it was created while this ran)`,
        {
          hint: 'run the command again to update it, or choose another --id',
        },
      );
    }
    throw e;
  }
}

function etagConflict(id: string, expected: string, current: string | undefined): ConflictError {
  return new ConflictError(
    'ETAG_MISMATCH',
    `deployment '${id}' was changed since etag ${expected} was read${current ? ` (its etag is now ${current})` : ''}; nothing was updated`,
    { hint: `read it again (modelport deployment show ${id}) and repeat the change with the new etag` },
  );
}

/** Applies whole deployment content to one IoT Edge device (its module twins), as `az iot edge set-modules` does. */
export async function deployToDevice(
  hub: HubClient,
  deviceId: string,
  content: ConfigurationContent,
): Promise<{ deviceId: string; modules: { name: string; image?: string }[] }> {
  if (isLayered(content)) {
    throw new UsageError(
      'LAYERED_ON_DEVICE',
      'a layered deployment cannot be applied to a single device; apply a whole manifest, or deploy it at scale with --id',
    );
  }
  const device = await hub.getDevice(deviceId);
  if (!device) {
    throw new NotFoundError(
      'DEVICE_NOT_FOUND',
      `device '${deviceId}' is not registered in IoT Hub ${hub.hostName}`,
      {
        hint: 'check --device (az iot hub device-identity list --edge-enabled)',
      },
    );
  }
  if (!device.capabilities?.iotEdge) {
    throw new UsageError(
      'DEVICE_NOT_EDGE',
      `device '${deviceId}' is not an IoT Edge device, so it cannot run modules`,
      {
        hint: 'deploy to a device registered with --edge-enabled',
      },
    );
  }
  await hub.applyConfigurationContentOnDevice(deviceId, { modulesContent: content.modulesContent });
  return { deviceId, modules: modulesOf(content) };
}

/** IoT Edge deployments (configurations with modulesContent), highest priority first. */
export async function listDeployments(hub: HubClient): Promise<DeploymentSummary[]> {
  const all = await hub.listConfigurations();
  return all
    .filter(isEdgeDeployment)
    .map(summarizeDeployment)
    .sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : 1));
}

export async function showDeployment(
  hub: HubClient,
  id: string,
): Promise<{ deployment: DeploymentSummary; configuration: Configuration }> {
  checkDeploymentId(id, 'deployment id');
  const configuration = await hub.getConfiguration(id);
  if (!configuration || !isEdgeDeployment(configuration)) throw deploymentNotFound(hub, id);
  return { deployment: summarizeDeployment(configuration), configuration };
}

export async function deleteDeployment(hub: HubClient, id: string): Promise<DeploymentSummary> {
  const { deployment } = await showDeployment(hub, id);
  try {
    await hub.removeConfiguration(id);
  } catch (e) {
    if (e instanceof NotFoundError) throw deploymentNotFound(hub, id);
    throw e;
  }
  return deployment;
}

function deploymentNotFound(hub: HubClient, id: string): NotFoundError {
  return new NotFoundError('DEPLOYMENT_NOT_FOUND', `IoT Hub ${hub.hostName} has no deployment '${id}'`, {
    hint: 'see `modelport deployment list`',
  });
}
