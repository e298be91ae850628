/**
 * Device and module twins: tags, desired and reported properties with their `$version`s, the twin
 * version behind the etag, and the `configurations` status IoT Hub shows. Desired changes are
 * announced through `TwinEvents.desiredChanged` so the MQTT side can push them to the device.
 */
import { badRequest, deviceNotFound, moduleNotFound } from './errors.js';
import { checkEtag, type DeviceIdentity, etagOf, type ModuleIdentity } from './identity-store.js';
import {
  applyMergePatch,
  cloneJson,
  diffAsMergePatch,
  isJsonObject,
  type JsonObject,
  validateTwinSection,
} from './json-doc.js';

export type ConfigurationStatus = 'Targeted' | 'Applied';

export interface Twin {
  readonly deviceId: string;
  readonly moduleId: string | undefined;
  tags: JsonObject;
  desired: JsonObject;
  reported: JsonObject;
  desiredVersion: number;
  reportedVersion: number;
  /** Bumped on every change to tags or properties; the etag is derived from it. */
  version: number;
  desiredUpdated: string;
  reportedUpdated: string;
  configurations: Record<string, { status: ConfigurationStatus }>;
}

export type TwinSection = 'tags' | 'desired' | 'reported';

export interface TwinEvents {
  desiredChanged(twin: Twin, patch: JsonObject): void;
  twinChanged(twin: Twin, section: TwinSection): void;
}

/** Fields of a service-side twin patch that IoT Hub accepts and ignores (the SDK sends whole twins back). */
const READ_ONLY_FIELDS = new Set([
  'deviceId',
  'moduleId',
  'etag',
  'deviceEtag',
  'version',
  'status',
  'statusReason',
  'statusUpdateTime',
  'connectionState',
  'lastActivityTime',
  'cloudToDeviceMessageCount',
  'authenticationType',
  'x509Thumbprint',
  'capabilities',
  'modelId',
  'configurations',
]);

const key = (deviceId: string, moduleId: string | undefined): string =>
  JSON.stringify([deviceId, moduleId ?? null]);

export class TwinStore {
  private readonly twins = new Map<string, Twin>();

  constructor(
    private readonly events: TwinEvents,
    private readonly now: () => Date,
  ) {}

  create(deviceId: string, moduleId: string | undefined): Twin {
    const now = this.now().toISOString();
    const twin: Twin = {
      deviceId,
      moduleId,
      tags: {},
      desired: {},
      reported: {},
      desiredVersion: 1,
      reportedVersion: 1,
      version: 1,
      desiredUpdated: now,
      reportedUpdated: now,
      configurations: {},
    };
    this.twins.set(key(deviceId, moduleId), twin);
    return twin;
  }

  delete(deviceId: string, moduleId: string | undefined): void {
    this.twins.delete(key(deviceId, moduleId));
  }

  get(deviceId: string, moduleId: string | undefined): Twin | undefined {
    return this.twins.get(key(deviceId, moduleId));
  }

  require(deviceId: string, moduleId: string | undefined): Twin {
    const twin = this.get(deviceId, moduleId);
    if (!twin) throw moduleId === undefined ? deviceNotFound(deviceId) : moduleNotFound(deviceId, moduleId);
    return twin;
  }

  all(): Twin[] {
    return [...this.twins.values()];
  }

  /** The service's PATCH /twins/{id}[/modules/{mid}]: tags and desired properties, If-Match honoured. */
  patchFromService(twin: Twin, body: unknown, ifMatch: string | undefined): void {
    checkEtag(ifMatch, twin.version, `the twin of ${describe(twin)}`);
    if (!isJsonObject(body)) throw badRequest('The twin patch must be a JSON object');
    let tags: JsonObject | undefined;
    let desired: JsonObject | undefined;
    for (const [field, value] of Object.entries(body)) {
      if (field === 'tags') {
        if (!isJsonObject(value)) throw badRequest('tags must be an object');
        tags = value;
      } else if (field === 'properties') {
        if (!isJsonObject(value)) throw badRequest('properties must be an object');
        for (const [section, inner] of Object.entries(value)) {
          if (section === 'desired') {
            if (!isJsonObject(inner)) throw badRequest('properties.desired must be an object');
            desired = withoutMetadata(inner);
          } else if (section === 'reported') {
            throw badRequest('Reported properties are set by the device; the service may not update them');
          } else {
            throw badRequest(`Unknown twin section properties.${section}`);
          }
        }
      } else if (!READ_ONLY_FIELDS.has(field)) {
        throw badRequest(`Unknown twin field '${field}'`);
      }
    }
    if (tags) validateTwinSection('tags', tags, true);
    if (desired) validateTwinSection('desired', desired, true);
    const newTags = tags ? applyMergePatch(twin.tags, tags) : undefined;
    const newDesired = desired ? applyMergePatch(twin.desired, desired) : undefined;
    if (newTags) validateTwinSection('tags', newTags, false);
    if (newDesired) validateTwinSection('desired', newDesired, false);
    if (newTags) {
      twin.tags = newTags;
      twin.version++;
      this.events.twinChanged(twin, 'tags');
    }
    if (newDesired && desired) {
      this.commitDesired(twin, newDesired, desired);
    }
  }

  /** Replaces the whole desired document (deployments do this); no-op when nothing changes. */
  replaceDesired(twin: Twin, desired: JsonObject): boolean {
    const next = withoutMetadata(desired);
    validateTwinSection('desired', next, false);
    const patch = diffAsMergePatch(twin.desired, next);
    if (Object.keys(patch).length === 0) return false;
    this.commitDesired(twin, next, patch);
    return true;
  }

  /** The device's PATCH of reported properties (over MQTT). Returns the new reported `$version`. */
  patchReported(twin: Twin, patch: unknown): number {
    if (!isJsonObject(patch)) throw badRequest('The reported properties patch must be a JSON object');
    const clean = withoutMetadata(patch);
    validateTwinSection('reported', clean, true);
    const next = applyMergePatch(twin.reported, clean);
    validateTwinSection('reported', next, false);
    twin.reported = next;
    twin.reportedVersion++;
    twin.reportedUpdated = this.now().toISOString();
    twin.version++;
    this.events.twinChanged(twin, 'reported');
    return twin.reportedVersion;
  }

  private commitDesired(twin: Twin, next: JsonObject, patch: JsonObject): void {
    twin.desired = next;
    twin.desiredVersion++;
    twin.desiredUpdated = this.now().toISOString();
    twin.version++;
    this.events.desiredChanged(twin, cloneJson(patch));
    this.events.twinChanged(twin, 'desired');
  }
}

/** `$version`, `$metadata` and other `$` keys are IoT Hub's own and never stored from a patch. */
function withoutMetadata(doc: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(doc)) if (!k.startsWith('$')) out[k] = v;
  return out;
}

function describe(twin: Twin): string {
  return twin.moduleId === undefined ? `device ${twin.deviceId}` : `module ${twin.deviceId}/${twin.moduleId}`;
}

export function twinEtag(twin: Twin): string {
  return etagOf(twin.version);
}

/** What the device receives for `$iothub/twin/GET`: the two property sections with their versions. */
export function mqttTwinDocument(twin: Twin): JsonObject {
  return {
    desired: { ...cloneJson(twin.desired), $version: twin.desiredVersion },
    reported: { ...cloneJson(twin.reported), $version: twin.reportedVersion },
  };
}

/** The twin in IoT Hub's REST shape (GET /twins/{id}[/modules/{mid}]), also used to evaluate queries. */
export function restTwinDocument(twin: Twin, device: DeviceIdentity, module?: ModuleIdentity): JsonObject {
  const identity = module ?? device;
  const doc: JsonObject = {
    deviceId: twin.deviceId,
    ...(twin.moduleId === undefined ? {} : { moduleId: twin.moduleId }),
    etag: twinEtag(twin),
    deviceEtag: etagOf(identity.revision),
    status: device.status,
    statusUpdateTime: device.statusUpdatedTime,
    connectionState: identity.connectionState,
    lastActivityTime: identity.lastActivityTime,
    cloudToDeviceMessageCount: 0,
    authenticationType: 'sas',
    x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null },
    modelId: '',
    version: twin.version,
    tags: cloneJson(twin.tags),
    properties: {
      desired: {
        ...cloneJson(twin.desired),
        $metadata: { $lastUpdated: twin.desiredUpdated, $lastUpdatedVersion: twin.desiredVersion },
        $version: twin.desiredVersion,
      },
      reported: {
        ...cloneJson(twin.reported),
        $metadata: { $lastUpdated: twin.reportedUpdated },
        $version: twin.reportedVersion,
      },
    },
    configurations: cloneJson(twin.configurations) as JsonObject,
  };
  if (twin.moduleId === undefined) doc.capabilities = { iotEdge: device.edge };
  return doc;
}
