/**
 * Applies configurations to devices the way IoT Hub does, but at once instead of every few
 * minutes: for each IoT Edge device it evaluates the deployments' target conditions over the
 * device twin, picks the base deployment and the layers (deployment-merge.ts), writes the merged
 * desired documents into the `$edgeAgent`, `$edgeHub` and module twins (which pushes desired
 * patches to connected modules), and records Targeted / Applied in the twins' `configurations`.
 *
 * A device is re-applied only when the set of deployments that apply to it (or one of their
 * revisions) changes, so content set by `applyConfigurationContentOnDevice` stays until then. When
 * no deployment targets a device any more, its modules keep their last desired properties, as on
 * IoT Hub. Module twins named by a deployment get their desired properties when the module
 * identity is created.
 */
import type { ConfigurationRecord, ConfigurationStore } from './configuration-store.js';
import { chooseDeployments, type DeploymentCandidate, mergeDeployments } from './deployment-merge.js';
import { badRequest } from './errors.js';
import { EDGE_SYSTEM_MODULES, type IdentityStore } from './identity-store.js';
import { isJsonObject, type JsonObject } from './json-doc.js';
import { evaluateCondition, type Query } from './target-condition.js';
import { type ConfigurationStatus, restTwinDocument, type TwinStore } from './twin-store.js';

interface DeviceDeploymentState {
  /** Which deployments (id@revision) were last applied; empty when none. */
  signature: string;
  /** The desired document per module from the last application. */
  modules: Map<string, JsonObject>;
}

export interface SystemMetrics {
  targetedCount: number;
  appliedCount: number;
  reportedSuccessfulCount: number;
  reportedFailedCount: number;
}

export class DeploymentEngine {
  private readonly state = new Map<string, DeviceDeploymentState>();

  constructor(
    private readonly identities: IdentityStore,
    private readonly twins: TwinStore,
    private readonly configurations: ConfigurationStore,
  ) {}

  evaluateAll(): void {
    for (const device of this.identities.listDevices()) this.evaluateDevice(device.deviceId);
  }

  evaluateDevice(deviceId: string): void {
    const device = this.identities.getDevice(deviceId);
    const deviceTwin = this.twins.get(deviceId, undefined);
    if (!device || !deviceTwin) return;
    const doc = restTwinDocument(deviceTwin, device);
    // IoT Edge deployments target only IoT Edge devices; other configurations any device.
    const targeting = this.configurations
      .list()
      .filter((c) => (device.edge || !c.content.modulesContent) && c.condition !== undefined)
      .filter((c) => evaluateCondition(c.condition as NonNullable<typeof c.condition>, doc));
    const deployments = targeting.filter((c) => c.content.modulesContent);
    const choice = chooseDeployments(deployments.map(candidate));
    const applied = new Set([choice.base, ...choice.layers].flatMap((d) => (d ? [d.id] : [])));

    const statuses: Record<string, { status: ConfigurationStatus }> = {};
    for (const c of targeting) statuses[c.id] = { status: applied.has(c.id) ? 'Applied' : 'Targeted' };
    deviceTwin.configurations = statuses;
    const agentTwin = this.twins.get(deviceId, EDGE_SYSTEM_MODULES[0]);
    if (agentTwin) {
      agentTwin.configurations = Object.fromEntries(
        Object.entries(statuses).filter(([id]) => this.configurations.get(id)?.content.modulesContent),
      );
    }

    const signature = [choice.base, ...choice.layers]
      .flatMap((d) => (d ? [`${d.id}@${this.configurations.get(d.id)?.revision}`] : []))
      .join(',');
    const previous = this.state.get(deviceId);
    if (previous?.signature === signature || (signature === '' && !previous)) return;
    if (signature === '') {
      // Nothing targets the device any more: modules keep what they have.
      this.state.set(deviceId, { signature, modules: previous?.modules ?? new Map() });
      return;
    }
    const modules = mergeDeployments(choice);
    this.state.set(deviceId, { signature, modules });
    this.writeModules(deviceId, modules);
  }

  /** POST /devices/{id}/applyConfigurationContent: sets the modules' desired properties directly. */
  applyContentOnDevice(deviceId: string, content: unknown): void {
    const device = this.identities.requireDevice(deviceId);
    if (!device.edge) throw badRequest(`Device '${deviceId}' is not an IoT Edge device`);
    if (!isJsonObject(content) || !isJsonObject(content.modulesContent)) {
      throw badRequest('The content to apply must hold modulesContent');
    }
    const modules = mergeDeployments({
      base: {
        id: 'applyConfigurationContent',
        priority: 0,
        createdSequence: 0,
        modulesContent: content.modulesContent,
      },
      layers: [],
    });
    const previous = this.state.get(deviceId);
    this.state.set(deviceId, { signature: previous?.signature ?? '', modules });
    this.writeModules(deviceId, modules);
  }

  /** A module identity was created: give its twin what the applied deployment says. */
  moduleCreated(deviceId: string, moduleId: string): void {
    const desired = this.state.get(deviceId)?.modules.get(moduleId);
    const twin = this.twins.get(deviceId, moduleId);
    if (desired && twin) this.twins.replaceDesired(twin, desired);
  }

  deviceDeleted(deviceId: string): void {
    this.state.delete(deviceId);
  }

  systemMetrics(config: ConfigurationRecord): SystemMetrics {
    const metrics: SystemMetrics = {
      targetedCount: 0,
      appliedCount: 0,
      reportedSuccessfulCount: 0,
      reportedFailedCount: 0,
    };
    for (const device of this.identities.listDevices()) {
      const status = this.twins.get(device.deviceId, undefined)?.configurations[config.id]?.status;
      if (!status) continue;
      metrics.targetedCount++;
      if (status !== 'Applied') continue;
      metrics.appliedCount++;
      const agent = this.twins.get(device.deviceId, EDGE_SYSTEM_MODULES[0]);
      if (!agent || agent.reported.lastDesiredVersion !== agent.desiredVersion) continue;
      const lastStatus = agent.reported.lastDesiredStatus;
      const code = isJsonObject(lastStatus) ? lastStatus.code : undefined;
      if (code === 200) metrics.reportedSuccessfulCount++;
      else if (code !== undefined) metrics.reportedFailedCount++;
    }
    return metrics;
  }

  /** Runs a metric query: the number of distinct devices with a twin (device or module) it selects. */
  countQuery(query: Query): number {
    const devices = new Set<string>();
    for (const device of this.identities.listDevices()) {
      const deviceTwin = this.twins.get(device.deviceId, undefined);
      if (!deviceTwin) continue;
      if (query.from === 'devices') {
        if (evaluateCondition(query.where, restTwinDocument(deviceTwin, device)))
          devices.add(device.deviceId);
        continue;
      }
      for (const module of this.identities.listModules(device.deviceId)) {
        const twin = this.twins.get(device.deviceId, module.moduleId);
        if (twin && evaluateCondition(query.where, restTwinDocument(twin, device, module))) {
          devices.add(device.deviceId);
        }
      }
    }
    return devices.size;
  }

  private writeModules(deviceId: string, modules: Map<string, JsonObject>): void {
    for (const [moduleId, desired] of modules) {
      const twin = this.twins.get(deviceId, moduleId);
      if (twin) this.twins.replaceDesired(twin, desired);
    }
  }
}

function candidate(config: ConfigurationRecord): DeploymentCandidate {
  return {
    id: config.id,
    priority: config.priority,
    createdSequence: config.createdSequence,
    modulesContent: config.content.modulesContent ?? {},
  };
}
