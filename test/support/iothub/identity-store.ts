/**
 * The identity registry: devices (with the IoT Edge flag), module identities, their keys and
 * status, connection state, and the hub's shared access policies. Creating an edge device creates
 * its `$edgeAgent` and `$edgeHub` module identities, as IoT Hub does.
 */
import { randomBytes } from 'node:crypto';
import { badRequest, deviceNotFound, HubError, moduleNotFound, preconditionFailed } from './errors.js';

export type PolicyRight = 'RegistryRead' | 'RegistryWrite' | 'ServiceConnect' | 'DeviceConnect';

export interface AccessPolicy {
  readonly name: string;
  readonly primaryKey: string;
  readonly secondaryKey: string;
  readonly rights: readonly PolicyRight[];
}

export interface SymmetricKeys {
  primaryKey: string;
  secondaryKey: string;
}

interface IdentityBase {
  deviceId: string;
  keys: SymmetricKeys;
  generationId: string;
  /** Bumped on every change; the etag is derived from it. */
  revision: number;
  connectionState: 'Connected' | 'Disconnected';
  connectionStateUpdatedTime: string;
  lastActivityTime: string;
}

export interface DeviceIdentity extends IdentityBase {
  status: 'enabled' | 'disabled';
  statusReason: string | null;
  statusUpdatedTime: string;
  edge: boolean;
}

export interface ModuleIdentity extends IdentityBase {
  moduleId: string;
  managedBy: string | null;
}

export interface DeviceInput {
  deviceId: string;
  status?: 'enabled' | 'disabled';
  statusReason?: string | null;
  edge?: boolean;
  /** Keys to use; empty or missing keys are generated, as IoT Hub does. */
  keys?: Partial<SymmetricKeys>;
}

export interface ModuleInput {
  deviceId: string;
  moduleId: string;
  managedBy?: string | null;
  keys?: Partial<SymmetricKeys>;
}

export const EDGE_SYSTEM_MODULES = ['$edgeAgent', '$edgeHub'] as const;

export interface IdentityEvents {
  deviceCreated(device: DeviceIdentity): void;
  deviceDeleted(deviceId: string): void;
  moduleCreated(module: ModuleIdentity): void;
  moduleDeleted(deviceId: string, moduleId: string): void;
  /** A device was disabled or its keys changed: its open connections must go. */
  credentialsRevoked(deviceId: string, moduleId: string | undefined): void;
}

const NEVER = '0001-01-01T00:00:00Z';
const ID_PATTERN = /^[A-Za-z0-9\-.+%_#*?!(),:=@$']{1,128}$/;

export function generateKey(): string {
  return randomBytes(32).toString('base64');
}

/** IoT Hub's etags are opaque base64 strings; here, the base64 of a revision counter. */
export function etagOf(revision: number): string {
  return Buffer.from(String(revision)).toString('base64');
}

export class IdentityStore {
  private readonly devices = new Map<string, DeviceIdentity>();
  private readonly modules = new Map<string, Map<string, ModuleIdentity>>();
  readonly policies = new Map<string, AccessPolicy>();

  constructor(
    private readonly events: IdentityEvents,
    private readonly now: () => Date,
  ) {}

  addPolicy(name: string, rights: readonly PolicyRight[], key = generateKey()): AccessPolicy {
    const policy: AccessPolicy = { name, primaryKey: key, secondaryKey: generateKey(), rights };
    this.policies.set(name, policy);
    return policy;
  }

  createDevice(input: DeviceInput): DeviceIdentity {
    checkId('device', input.deviceId);
    if (this.devices.has(input.deviceId)) {
      throw new HubError(
        409,
        'DeviceAlreadyExists',
        `A device with ID '${input.deviceId}' is already registered`,
      );
    }
    const now = this.now().toISOString();
    const device: DeviceIdentity = {
      deviceId: input.deviceId,
      keys: completeKeys(input.keys),
      generationId: generationId(),
      revision: 1,
      connectionState: 'Disconnected',
      connectionStateUpdatedTime: NEVER,
      lastActivityTime: NEVER,
      status: input.status ?? 'enabled',
      statusReason: input.statusReason ?? null,
      statusUpdatedTime: now,
      edge: input.edge ?? false,
    };
    this.devices.set(device.deviceId, device);
    this.modules.set(device.deviceId, new Map());
    this.events.deviceCreated(device);
    if (device.edge) {
      for (const moduleId of EDGE_SYSTEM_MODULES) this.insertModule({ deviceId: device.deviceId, moduleId });
    }
    return device;
  }

  /** PUT with If-Match: status, keys and the edge flag may change; the etag must match unless `*`. */
  updateDevice(input: DeviceInput, ifMatch: string | undefined): DeviceIdentity {
    const device = this.requireDevice(input.deviceId);
    checkEtag(ifMatch, device.revision, `device ${device.deviceId}`);
    const keys = completeKeys(input.keys, device.keys);
    const revoked =
      (input.status === 'disabled' && device.status === 'enabled') ||
      keys.primaryKey !== device.keys.primaryKey ||
      keys.secondaryKey !== device.keys.secondaryKey;
    if (input.status && input.status !== device.status) device.statusUpdatedTime = this.now().toISOString();
    device.status = input.status ?? device.status;
    device.statusReason = input.statusReason ?? device.statusReason;
    device.keys = keys;
    const becameEdge = !device.edge && input.edge === true;
    device.edge = input.edge ?? device.edge;
    device.revision++;
    if (becameEdge) {
      for (const moduleId of EDGE_SYSTEM_MODULES) {
        if (!this.modules.get(device.deviceId)?.has(moduleId)) {
          this.insertModule({ deviceId: device.deviceId, moduleId });
        }
      }
    }
    if (revoked) this.events.credentialsRevoked(device.deviceId, undefined);
    return device;
  }

  getDevice(deviceId: string): DeviceIdentity | undefined {
    return this.devices.get(deviceId);
  }

  requireDevice(deviceId: string): DeviceIdentity {
    const device = this.devices.get(deviceId);
    if (!device) throw deviceNotFound(deviceId);
    return device;
  }

  listDevices(): DeviceIdentity[] {
    return [...this.devices.values()];
  }

  deleteDevice(deviceId: string, ifMatch: string | undefined): void {
    const device = this.requireDevice(deviceId);
    checkEtag(ifMatch, device.revision, `device ${deviceId}`);
    for (const moduleId of this.modules.get(deviceId)?.keys() ?? []) {
      this.events.moduleDeleted(deviceId, moduleId);
    }
    this.modules.delete(deviceId);
    this.devices.delete(deviceId);
    this.events.credentialsRevoked(deviceId, undefined);
    this.events.deviceDeleted(deviceId);
  }

  createModule(input: ModuleInput): ModuleIdentity {
    this.requireDevice(input.deviceId);
    checkId('module', input.moduleId);
    if (input.moduleId.startsWith('$')) {
      throw badRequest(
        `Module ID '${input.moduleId}' is reserved: IoT Hub creates $ modules for edge devices`,
      );
    }
    if (this.modules.get(input.deviceId)?.has(input.moduleId)) {
      throw new HubError(
        409,
        'ModuleAlreadyExistsOnDevice',
        `A module with ID '${input.moduleId}' is already registered on device '${input.deviceId}'`,
      );
    }
    return this.insertModule(input);
  }

  updateModule(input: ModuleInput, ifMatch: string | undefined): ModuleIdentity {
    const module = this.requireModule(input.deviceId, input.moduleId);
    checkEtag(ifMatch, module.revision, `module ${input.deviceId}/${input.moduleId}`);
    const keys = completeKeys(input.keys, module.keys);
    const revoked =
      keys.primaryKey !== module.keys.primaryKey || keys.secondaryKey !== module.keys.secondaryKey;
    module.keys = keys;
    if (input.managedBy !== undefined) module.managedBy = input.managedBy;
    module.revision++;
    if (revoked) this.events.credentialsRevoked(input.deviceId, input.moduleId);
    return module;
  }

  getModule(deviceId: string, moduleId: string): ModuleIdentity | undefined {
    return this.modules.get(deviceId)?.get(moduleId);
  }

  requireModule(deviceId: string, moduleId: string): ModuleIdentity {
    this.requireDevice(deviceId);
    const module = this.getModule(deviceId, moduleId);
    if (!module) throw moduleNotFound(deviceId, moduleId);
    return module;
  }

  listModules(deviceId: string): ModuleIdentity[] {
    this.requireDevice(deviceId);
    return [...(this.modules.get(deviceId)?.values() ?? [])];
  }

  deleteModule(deviceId: string, moduleId: string, ifMatch: string | undefined): void {
    const module = this.requireModule(deviceId, moduleId);
    checkEtag(ifMatch, module.revision, `module ${deviceId}/${moduleId}`);
    this.modules.get(deviceId)?.delete(moduleId);
    this.events.credentialsRevoked(deviceId, moduleId);
    this.events.moduleDeleted(deviceId, moduleId);
  }

  setConnectionState(deviceId: string, moduleId: string | undefined, connected: boolean): void {
    const identity = moduleId === undefined ? this.getDevice(deviceId) : this.getModule(deviceId, moduleId);
    if (!identity) return;
    const now = this.now().toISOString();
    identity.connectionState = connected ? 'Connected' : 'Disconnected';
    identity.connectionStateUpdatedTime = now;
    identity.lastActivityTime = now;
  }

  touch(deviceId: string, moduleId: string | undefined): void {
    const identity = moduleId === undefined ? this.getDevice(deviceId) : this.getModule(deviceId, moduleId);
    if (identity) identity.lastActivityTime = this.now().toISOString();
  }

  private insertModule(input: ModuleInput): ModuleIdentity {
    const module: ModuleIdentity = {
      deviceId: input.deviceId,
      moduleId: input.moduleId,
      managedBy: input.managedBy ?? null,
      keys: completeKeys(input.keys),
      generationId: generationId(),
      revision: 1,
      connectionState: 'Disconnected',
      connectionStateUpdatedTime: NEVER,
      lastActivityTime: NEVER,
    };
    this.modules.get(input.deviceId)?.set(input.moduleId, module);
    this.events.moduleCreated(module);
    return module;
  }
}

function checkId(kind: string, id: string): void {
  if (!ID_PATTERN.test(id)) {
    throw badRequest(
      `The ${kind} ID '${id}' is invalid: up to 128 ASCII letters, digits and - . + % _ # * ? ! ( ) , : = @ $ '`,
    );
  }
}

/** `If-Match` as IoT Hub reads it: absent or `*` matches anything, otherwise the quoted etag must match. */
export function checkEtag(ifMatch: string | undefined, revision: number, what: string): void {
  if (ifMatch === undefined) return;
  const unquoted = ifMatch.trim().replace(/^"(.*)"$/, '$1');
  if (unquoted === '*') return;
  if (unquoted !== etagOf(revision)) {
    throw preconditionFailed(`Precondition failed: the etag '${unquoted}' of ${what} is not the current one`);
  }
}

function completeKeys(given: Partial<SymmetricKeys> | undefined, fallback?: SymmetricKeys): SymmetricKeys {
  const primaryKey = given?.primaryKey || fallback?.primaryKey || generateKey();
  const secondaryKey = given?.secondaryKey || fallback?.secondaryKey || generateKey();
  for (const key of [primaryKey, secondaryKey]) {
    if (Buffer.from(key, 'base64').length < 16) {
      throw badRequest('A symmetric key must be base64 and between 16 and 64 bytes long');
    }
  }
  return { primaryKey, secondaryKey };
}

function generationId(): string {
  return String(BigInt(Date.now()) * 10_000n + BigInt(randomBytes(2).readUInt16BE(0)));
}
