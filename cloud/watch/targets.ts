/**
 * Where a rollout goes: a manifest file that offline agents watch (air-gapped sites), written
 * atomically (atomic-file.ts) so an agent never reads half a manifest; or an IoT Hub at-scale (or
 * layered) deployment. IoT Hub never changes a deployment's content, so each rollout is a new
 * deployment `<spec name>-<rollout key>` with a priority above the watch's earlier ones (cloud/fleet
 * applyDeployment: creating one that exists with the same content changes nothing), labelled so the
 * watch finds its own; the earlier ones can be removed after.
 */
import { readFile, stat } from 'node:fs/promises';
import type { ConfigurationContent } from 'azure-iothub';
import { sha256Hex } from '../../common/canonical-json.js';
import { isENOENT, messageOf } from '../../common/errors.js';
import type { DeploymentManifest, ModulesContentWire } from '../../manifests/index.js';
import { applyDeployment } from '../fleet/deployments.js';
import type { HubClient } from '../fleet/hub-client.js';
import { toLayeredContent } from '../fleet/layered.js';
import { writeFileAtomic } from './atomic-file.js';
import { deploymentIdFor, nextPriority } from './naming.js';
import type { PlannedRollout, RolloutRecord, TargetFacts } from './types.js';

/** Labels on the IoT Hub deployments a watch creates. */
export const WATCH_LABEL = 'modelport.watch';
export const ROLLOUT_LABEL = 'modelport.rollout';

export interface AppliedTarget {
  outcome: 'written' | 'created' | 'updated' | 'unchanged';
  deploymentId?: string;
  priority?: number;
  manifestDigest?: string;
  /** Earlier deployments of this watch removed after this one was applied. */
  removed: string[];
  warnings: string[];
}

export interface RolloutTarget {
  readonly facts: TargetFacts;
  /** `manifest /path` or `IoT Hub host, deployment stem`: for messages. */
  readonly description: string;
  /** Whether the target lost what `record` applied (a manifest file edited or deleted). */
  drifted(record: RolloutRecord | undefined): Promise<boolean>;
  /** Changes when the target changes outside the watch (polled; '' for targets without one). */
  changeToken(): Promise<string>;
  apply(manifest: DeploymentManifest, rollout: PlannedRollout): Promise<AppliedTarget>;
}

const manifestText = (manifest: DeploymentManifest) => `${JSON.stringify(manifest, null, 2)}\n`;

export class ManifestFileTarget implements RolloutTarget {
  readonly facts: TargetFacts;
  readonly description: string;

  constructor(private readonly path: string) {
    this.facts = { kind: 'file', key: `file:${path}` };
    this.description = `manifest ${path}`;
  }

  async drifted(record: RolloutRecord | undefined): Promise<boolean> {
    if (record?.manifestDigest === undefined) return false;
    try {
      return sha256Hex(await readFile(this.path)) !== record.manifestDigest;
    } catch (e) {
      if (isENOENT(e)) return true;
      throw e;
    }
  }

  async changeToken(): Promise<string> {
    const info = await stat(this.path).catch((e: unknown) => {
      if (isENOENT(e)) return undefined;
      throw e;
    });
    return info ? `${info.mtimeMs}:${info.size}` : 'missing';
  }

  async apply(manifest: DeploymentManifest): Promise<AppliedTarget> {
    const text = manifestText(manifest);
    const { warnings } = await writeFileAtomic(this.path, text);
    return { outcome: 'written', manifestDigest: sha256Hex(text), removed: [], warnings };
  }
}

export interface HubTargetSettings {
  hostName: string;
  /** Deployment id stem (from the spec's name) and the value of the watch label. */
  stem: string;
  targetCondition: string;
  /** Priority of the first rollout. */
  basePriority: number;
  layered: boolean;
  removePrevious: boolean;
  /** Opens a client for one use and closes it (cloud/cli withHub). */
  withHub: <T>(use: (hub: HubClient) => Promise<T>) => Promise<T>;
}

export class HubDeploymentTarget implements RolloutTarget {
  readonly facts: TargetFacts;
  readonly description: string;

  constructor(private readonly settings: HubTargetSettings) {
    this.facts = {
      kind: 'hub',
      key: `hub:${settings.hostName}/${settings.stem}`,
      targetCondition: settings.targetCondition,
      layered: settings.layered,
    };
    this.description = `IoT Hub ${settings.hostName}, deployments ${settings.stem}-*`;
  }

  async drifted(): Promise<boolean> {
    return false;
  }

  async changeToken(): Promise<string> {
    return '';
  }

  apply(manifest: DeploymentManifest, rollout: PlannedRollout): Promise<AppliedTarget> {
    const s = this.settings;
    const warnings: string[] = [];
    let content: ConfigurationContent = { modulesContent: manifest.modulesContent };
    if (s.layered) {
      const layered = toLayeredContent(manifest.modulesContent as unknown as ModulesContentWire);
      content = { modulesContent: layered.modulesContent };
      if (layered.leftOut.length > 0) {
        warnings.push(`a layered deployment takes ${layered.leftOut.join(', ')} from the base deployment`);
      }
    }
    const id = deploymentIdFor(s.stem, rollout.key);
    return s.withHub(async (hub) => {
      const ours = (await hub.listConfigurations()).filter((c) => c.labels?.[WATCH_LABEL] === s.stem);
      const priority = nextPriority(
        ours.map((c) => ({ id: c.id, priority: c.priority ?? 0 })),
        id,
        s.basePriority,
      );
      const { outcome } = await applyDeployment(
        hub,
        {
          id,
          targetCondition: s.targetCondition,
          priority,
          labels: { [WATCH_LABEL]: s.stem, [ROLLOUT_LABEL]: rollout.key.slice(0, 12) },
        },
        content,
      );
      const removed: string[] = [];
      if (s.removePrevious) {
        for (const previous of ours.filter((c) => c.id !== id)) {
          try {
            await hub.removeConfiguration(previous.id);
            removed.push(previous.id);
          } catch (e) {
            // The new deployment is applied and wins by priority: a leftover is untidy, not wrong.
            warnings.push(`could not remove the previous deployment ${previous.id}: ${messageOf(e)}`);
          }
        }
      }
      return { outcome, deploymentId: id, priority, removed, warnings };
    });
  }
}
