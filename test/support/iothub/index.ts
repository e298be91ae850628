/**
 * # IoT Hub emulator (a test tool, never part of the product's fleet path)
 *
 * Emulates the parts of Azure IoT Hub modelport uses, on the real wire protocols, so that the real
 * `azure-iot-device` + `azure-iot-device-mqtt` and `azure-iothub` SDKs talk to it unchanged. MQTT
 * runs on a real aedes broker, REST on node's http; both share one TLS port (the protocol is told
 * from the first bytes), so every connection string uses `HostName=localhost:PORT`, like the one
 * host name of a real hub. The CA is made per emulator (selfsigned).
 *
 * ```ts
 * const hub = await startHubEmulator();
 * const { connectionString } = hub.createDevice('edge-1', { edge: true });
 * const agent = ModuleClient.fromConnectionString(hub.moduleConnectionString('edge-1', '$edgeAgent'), Mqtt);
 * agent.setOptions({ ca: hub.ca });                     // device side: the SDK's own option
 * const registry = hub.configureServiceClient(Registry.fromConnectionString(hub.serviceConnectionString));
 * …
 * await hub.stop();
 * ```
 * Service clients need `hub.configureServiceClient(client)` (or `useHttpsAgent(client, hub.httpsAgent)`):
 * the service SDK has no public way to trust a CA or use a port; service-client.ts explains.
 * `npm run hub-emulator` starts one by hand and prints the connection strings and the CA path.
 *
 * ## Emulated
 * Device side, MQTT 3.1.1 over TLS:
 * - CONNECT as `{deviceId}` or `{deviceId}/{moduleId}`, user name `{host}/{clientId}/?api-version=…`,
 *   password a SAS token checked against the identity's keys (or a policy with DeviceConnect).
 *   Unknown identity, disabled device, wrong key, expired token, wrong resource → CONNACK 5 (not
 *   authorized); a malformed client id or user name → CONNACK 2; `faults.refuseFor` → CONNACK 3.
 * - Telemetry on `devices/{id}[/modules/{mid}]/messages/events/{property bag}`, QoS 1 acked after
 *   capture; application and system properties (`$.mid`, `$.cid`, `$.ct`, `$.ce`, `$.on`, …) plus
 *   connectionDeviceId / connectionModuleId / enqueuedTime; `messages()` / `waitForMessages()`.
 * - Twins: `$iothub/twin/GET`, `$iothub/twin/PATCH/properties/reported` answered on
 *   `$iothub/twin/res/{status}/?$rid=…[&$version=…]`; desired patches pushed on
 *   `$iothub/twin/PATCH/properties/desired/?$version=N` with increasing versions; IoT Hub's twin
 *   limits (32 KB per section, 4 KB strings, depth 10, key characters) enforced.
 * - Direct methods to devices and modules (`$iothub/methods/POST/{name}/?$rid=`, responses on
 *   `$iothub/methods/res/{status}/?$rid=`), with connect and response timeouts in IoT Hub's range
 *   (5–300 s response): 404 DeviceNotOnline, 504 GatewayTimeout.
 * - Cloud-to-device messages on `devices/{id}/messages/devicebound/…` via `sendCloudToDevice()`.
 * - Sessions: with clean session off (the SDK's default) subscriptions survive reconnects and
 *   `restart()`, which the SDK relies on after a reconnect.
 * - Faults: `dropAll()`, `refuseFor(ms)`, `delayAcks(ms)`; `stop()` / `start()` / `restart()` on
 *   the same port with the same state.
 *
 * Service side, HTTPS REST (api-version 2021-04-12, the installed SDK's), service SAS with policy
 * rights (`iothubowner`, `service`, `registryRead`, `registryReadWrite`, `device`):
 * - Devices (create/update/get/list/delete, edge flag, generated keys), modules (edge devices get
 *   `$edgeAgent` and `$edgeHub`), twins (get, patch tags/desired with If-Match → 412),
 *   configurations (create/update/get/list/delete with etags; content immutable after create;
 *   target conditions over tags / reported properties / deviceId; metric queries), IoT Edge
 *   deployments applied at once: highest-priority base + layered deployments merged and written to
 *   the module twins (pushing desired patches), Targeted/Applied in twins' `configurations`,
 *   system metrics (targeted, applied, reported successful/failed), applyConfigurationContent,
 *   invokeDeviceMethod (device and module), `/devices/query` (SELECT … FROM devices[.modules]
 *   WHERE …), device statistics. Unknown routes → 404 in IoT Hub's error shape; `requests()` logs
 *   every call with its api-version.
 *
 * ## Facts of the installed SDKs that callers must know (all checked by the tests here)
 * - Device side: `await client.setOptions({ ca })` BEFORE `open()`. The SDK first tries `ca` as a
 *   file path (so `{ ca: hub.caPath }` works too) and applies it asynchronously; an `open()` that
 *   races it fails with "unable to verify the first certificate".
 * - `twin.properties.reported.update(patch, callback)` takes only a callback (azure-iot-device
 *   1.18): awaiting it without one does not wait, and the late response then throws in the SDK.
 * - `sendEventBatch` is not implemented by the MQTT transport (NotImplementedError): send one by one.
 * - The SDK subscribes in the background (`twin.on('properties.desired')`, `onMethod`); like IoT
 *   Hub, the emulator pushes nothing to a client before its SUBSCRIBE, so tests wait with
 *   `hub.subscriptions(deviceId, moduleId)` before changing what they expect to be pushed.
 * - Service side: see service-client.ts — a port and a CA need an https agent set on the client.
 *
 * ## Not emulated
 * AMQP and MQTT-over-WebSockets (so the service `Client.send`/feedback and `Client.open` are not
 * available: use `sendCloudToDevice()`), X.509 authentication, bulk registry operations and jobs,
 * module input messages, file upload, the event hub-compatible endpoint, routing, throttling and
 * quotas, device streams, Digital Twins / PnP APIs, `deviceContent`/`moduleContent` (ADM)
 * configurations beyond storing and targeting them, the `$edgeHub` store-and-forward semantics.
 * Deployments are evaluated at once, not every few minutes. State lives in memory only.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigurationStore } from './configuration-store.js';
import {
  deviceConnectionString,
  moduleConnectionString,
  serviceConnectionString,
} from './connection-string.js';
import { DeploymentEngine } from './deployment-engine.js';
import type { MethodRequest, MethodResult } from './direct-methods.js';
import { EmulatorError } from './errors.js';
import { IdentityStore, type PolicyRight } from './identity-store.js';
import type { JsonObject } from './json-doc.js';
import { type CloudToDeviceMessage, type ConnectionAttempt, MqttGateway } from './mqtt-gateway.js';
import type { Feature } from './mqtt-topics.js';
import { createRestHandler, type RequestLogEntry } from './rest-router.js';
import { hubRoutes } from './rest-routes.js';
import { createEmulatorHttpsAgent, useHttpsAgent } from './service-client.js';
import {
  type CapturedMessage,
  filterPredicate,
  type MessageFilter,
  type MessagePredicate,
  TelemetryStore,
} from './telemetry-store.js';
import { TlsListener } from './tls-listener.js';
import { createTlsMaterial, type TlsMaterial } from './tls-material.js';
import { restTwinDocument, TwinStore } from './twin-store.js';

export type { MethodRequest, MethodResult } from './direct-methods.js';
export type { CloudToDeviceMessage, ConnectionAttempt } from './mqtt-gateway.js';
export type { Feature } from './mqtt-topics.js';
export type { RequestLogEntry } from './rest-router.js';
export { createEmulatorHttpsAgent, useHttpsAgent } from './service-client.js';
export type { CapturedMessage, MessageFilter, MessagePredicate } from './telemetry-store.js';
export type { TlsMaterial } from './tls-material.js';

/** The api-versions the emulator answers: the one the installed azure-iothub and azure-iot-device use. */
export const SUPPORTED_API_VERSIONS: ReadonlySet<string> = new Set(['2021-04-12']);

export interface HubEmulatorOptions {
  /** TLS port for MQTT and HTTPS; 0 (default) picks a free one. */
  port?: number;
  /** Reuse a CA and server certificate (e.g. across emulators); default: a new CA. */
  tls?: TlsMaterial;
  /** Key of the `iothubowner` policy (base64); default: random. */
  ownerKey?: string;
}

export interface IdentityInfo {
  deviceId: string;
  moduleId?: string;
  primaryKey: string;
  secondaryKey: string;
  connectionString: string;
}

export interface HubFaults {
  /** Drops every open connection (MQTT and HTTPS); clients must reconnect. */
  dropAll(): void;
  /** Answers new MQTT connections with CONNACK 3 (server unavailable) for `ms`. */
  refuseFor(ms: number): void;
  /** Holds every device publish `ms` before handling and acknowledging it; 0 turns it off. */
  delayAcks(ms: number): void;
  /** Clears refuseFor and delayAcks. */
  reset(): void;
}

export interface HubEmulator {
  /** `localhost:PORT`, the HostName of every connection string. */
  readonly hostName: string;
  /** The one TLS port, for MQTT and HTTPS. */
  readonly port: number;
  /** Same as `port` (kept as a name of its own for callers that think in two endpoints). */
  readonly httpsPort: number;
  /** The CA (PEM) to trust: `client.setOptions({ ca })` on device clients. */
  readonly ca: string;
  /** The CA written to a file (for `--ca FILE` style options); exists while the emulator runs. */
  readonly caPath: string;
  /** `iothubowner` connection string. */
  readonly serviceConnectionString: string;
  /** An https agent that reaches this emulator and trusts its CA (see service-client.ts). */
  readonly httpsAgent: https.Agent;
  readonly faults: HubFaults;

  serviceConnectionStringFor(
    policy: 'iothubowner' | 'service' | 'registryRead' | 'registryReadWrite' | 'device',
  ): string;
  /** Points an azure-iothub Registry/Client at the emulator; returns it. */
  configureServiceClient<T extends object>(client: T): T;

  createDevice(
    deviceId: string,
    options?: { edge?: boolean; disabled?: boolean; primaryKey?: string },
  ): IdentityInfo;
  createModule(deviceId: string, moduleId: string, options?: { primaryKey?: string }): IdentityInfo;
  deviceConnectionString(deviceId: string, key?: 'primary' | 'secondary'): string;
  /** Also for `$edgeAgent` / `$edgeHub` of edge devices. */
  moduleConnectionString(deviceId: string, moduleId: string, key?: 'primary' | 'secondary'): string;

  /** The twin in IoT Hub's REST shape (tags, properties with $version, configurations…). */
  twin(deviceId: string, moduleId?: string): JsonObject;
  /** Service-side twin patch (tags and/or properties.desired), as PATCH /twins does. */
  updateTwin(deviceId: string, moduleId: string | undefined, patch: JsonObject): JsonObject;
  isConnected(deviceId: string, moduleId?: string): boolean;
  /**
   * What a connected identity subscribed to: 'twinResponses', 'desired', 'methods', 'c2d', 'inputs'
   * (e.g. wait for 'desired' before changing desired properties a test expects to be pushed).
   */
  subscriptions(deviceId: string, moduleId?: string): Feature[];
  connectionAttempts(): readonly ConnectionAttempt[];

  messages(filter?: MessageFilter | MessagePredicate): CapturedMessage[];
  waitForMessages(
    predicate: MessageFilter | MessagePredicate,
    count: number,
    timeoutMs: number,
  ): Promise<CapturedMessage[]>;
  clearMessages(): void;
  invokeMethod(deviceId: string, moduleId: string | undefined, request: MethodRequest): Promise<MethodResult>;
  sendCloudToDevice(deviceId: string, message: CloudToDeviceMessage): void;
  /** Every REST request so far: method, path, api-version, matched route, status. */
  requests(): readonly RequestLogEntry[];

  /** Stops serving (connections drop); state stays for `start()`. Removes the CA file. */
  stop(): Promise<void>;
  /** Serves again on the same port with the same state. */
  start(): Promise<void>;
  restart(): Promise<void>;
}

const POLICY_RIGHTS: Record<string, readonly PolicyRight[]> = {
  iothubowner: ['RegistryRead', 'RegistryWrite', 'ServiceConnect', 'DeviceConnect'],
  service: ['ServiceConnect'],
  registryRead: ['RegistryRead'],
  registryReadWrite: ['RegistryRead', 'RegistryWrite'],
  device: ['DeviceConnect'],
};

export async function startHubEmulator(options: HubEmulatorOptions = {}): Promise<HubEmulator> {
  const material = options.tls ?? (await createTlsMaterial());
  const now = () => new Date();
  let hostName = 'localhost:0';
  const telemetry = new TelemetryStore();
  const configurations = new ConfigurationStore(now);
  // The stores announce changes to each other; the late-bound references are set just below.
  let gateway: MqttGateway | undefined;
  let engine: DeploymentEngine | undefined;
  const twins: TwinStore = new TwinStore(
    {
      desiredChanged: (twin, patch) => gateway?.pushDesired(twin, patch),
      twinChanged: (twin, section) => {
        if (twin.moduleId === undefined && section !== 'desired') engine?.evaluateDevice(twin.deviceId);
      },
    },
    now,
  );
  const identities: IdentityStore = new IdentityStore(
    {
      deviceCreated: (device) => {
        twins.create(device.deviceId, undefined);
        engine?.evaluateDevice(device.deviceId);
      },
      deviceDeleted: (deviceId) => {
        twins.delete(deviceId, undefined);
        engine?.deviceDeleted(deviceId);
      },
      moduleCreated: (module) => {
        twins.create(module.deviceId, module.moduleId);
        engine?.moduleCreated(module.deviceId, module.moduleId);
      },
      moduleDeleted: (deviceId, moduleId) => twins.delete(deviceId, moduleId),
      credentialsRevoked: (deviceId, moduleId) => gateway?.disconnect(deviceId, moduleId),
    },
    now,
  );
  for (const [name, rights] of Object.entries(POLICY_RIGHTS)) {
    identities.addPolicy(name, rights, name === 'iothubowner' ? options.ownerKey : undefined);
  }
  engine = new DeploymentEngine(identities, twins, configurations);

  let refuseUntil = 0;
  let ackDelayMs = 0;
  const mqtt = new MqttGateway({
    hostName: () => hostName,
    identities,
    twins,
    telemetry,
    now,
    refuseUntil: () => refuseUntil,
    ackDelayMs: () => ackDelayMs,
  });
  gateway = mqtt;
  const requestLog: RequestLogEntry[] = [];
  const httpServer = http.createServer(
    createRestHandler({
      routes: hubRoutes({ identities, twins, configurations, engine, gateway: mqtt }),
      hostName: () => hostName,
      policies: identities.policies,
      apiVersions: SUPPORTED_API_VERSIONS,
      now,
      log: requestLog,
    }),
  );
  // Idle keep-alive connections stay open long (node's default is 5 s), so a service client reusing
  // one does not race the server closing it.
  httpServer.keepAliveTimeout = 120_000;
  const listener = new TlsListener(material, {
    mqtt: (socket) => mqtt.handle(socket),
    http: (socket) => httpServer.emit('connection', socket),
  });

  const caDir = await mkdtemp(path.join(tmpdir(), 'modelport-hub-'));
  const caPath = path.join(caDir, 'ca.pem');
  let port = options.port ?? 0;

  const start = async () => {
    if (listener.listening) return;
    await mkdir(caDir, { recursive: true });
    await writeFile(caPath, material.ca);
    await mqtt.start();
    port = await listener.listen(port);
    hostName = `localhost:${port}`;
  };
  const stop = async () => {
    await listener.close();
    await mqtt.stop();
    httpServer.closeAllConnections();
    await rm(caDir, { recursive: true, force: true });
  };
  await start();
  const httpsAgent = createEmulatorHttpsAgent(material.ca, port);

  const keyOf = (
    keys: { primaryKey: string; secondaryKey: string },
    which: 'primary' | 'secondary' = 'primary',
  ) => (which === 'primary' ? keys.primaryKey : keys.secondaryKey);
  const policyKey = (name: string) => {
    const policy = identities.policies.get(name);
    if (!policy) throw new EmulatorError('HUB_EMULATOR_NO_POLICY', `No shared access policy '${name}'`);
    return policy.primaryKey;
  };
  const asPredicate = (f: MessageFilter | MessagePredicate = {}) =>
    typeof f === 'function' ? f : filterPredicate(f);

  const hub: HubEmulator = {
    get hostName() {
      return hostName;
    },
    get port() {
      return port;
    },
    get httpsPort() {
      return port;
    },
    ca: material.ca,
    caPath,
    get serviceConnectionString() {
      return serviceConnectionString(hostName, 'iothubowner', policyKey('iothubowner'));
    },
    httpsAgent,
    faults: {
      dropAll: () => listener.destroyConnections(),
      refuseFor: (ms) => {
        refuseUntil = Date.now() + ms;
      },
      delayAcks: (ms) => {
        ackDelayMs = ms;
      },
      reset: () => {
        refuseUntil = 0;
        ackDelayMs = 0;
      },
    },
    serviceConnectionStringFor: (policy) => serviceConnectionString(hostName, policy, policyKey(policy)),
    configureServiceClient: (client) => useHttpsAgent(client, httpsAgent),
    createDevice: (deviceId, opts = {}) => {
      const device = identities.createDevice({
        deviceId,
        edge: opts.edge ?? false,
        status: opts.disabled ? 'disabled' : 'enabled',
        keys: { primaryKey: opts.primaryKey },
      });
      return {
        deviceId,
        ...device.keys,
        connectionString: deviceConnectionString(hostName, deviceId, device.keys.primaryKey),
      };
    },
    createModule: (deviceId, moduleId, opts = {}) => {
      const module = identities.createModule({ deviceId, moduleId, keys: { primaryKey: opts.primaryKey } });
      return {
        deviceId,
        moduleId,
        ...module.keys,
        connectionString: moduleConnectionString(hostName, deviceId, moduleId, module.keys.primaryKey),
      };
    },
    deviceConnectionString: (deviceId, key) =>
      deviceConnectionString(hostName, deviceId, keyOf(identities.requireDevice(deviceId).keys, key)),
    moduleConnectionString: (deviceId, moduleId, key) =>
      moduleConnectionString(
        hostName,
        deviceId,
        moduleId,
        keyOf(identities.requireModule(deviceId, moduleId).keys, key),
      ),
    twin: (deviceId, moduleId) => {
      const device = identities.requireDevice(deviceId);
      const module = moduleId === undefined ? undefined : identities.requireModule(deviceId, moduleId);
      return restTwinDocument(twins.require(deviceId, moduleId), device, module);
    },
    updateTwin: (deviceId, moduleId, patch) => {
      twins.patchFromService(twins.require(deviceId, moduleId), patch, undefined);
      return hub.twin(deviceId, moduleId);
    },
    isConnected: (deviceId, moduleId) => mqtt.isConnected(deviceId, moduleId),
    subscriptions: (deviceId, moduleId) => mqtt.subscriptions(deviceId, moduleId),
    connectionAttempts: () => mqtt.connectionAttempts(),
    messages: (filter) => telemetry.list(asPredicate(filter)),
    waitForMessages: (predicate, count, timeoutMs) =>
      telemetry.waitFor(asPredicate(predicate), count, timeoutMs),
    clearMessages: () => telemetry.clear(),
    invokeMethod: (deviceId, moduleId, request) => mqtt.invokeMethod(deviceId, moduleId, request),
    sendCloudToDevice: (deviceId, message) => mqtt.sendCloudToDevice(deviceId, message),
    requests: () => requestLog,
    stop,
    start,
    restart: async () => {
      await stop();
      await start();
    },
  };
  return hub;
}
