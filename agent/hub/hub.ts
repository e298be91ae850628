/**
 * The agent's edgeHub-compatible local hub: MQTT over TLS for module clients (stock
 * `ModuleClient.fromEnvironment` with `EdgeHubConnectionString` + `EdgeModuleCACertificateFile`),
 * routes from `$edgeHub` desired properties, module twins and direct methods, and every routed
 * message committed to the outbox before the module's PUBACK.
 *
 * ```ts
 * const outbox = await openOutbox({ path: join(home, 'outbox.db'), log });
 * const hub = await startHub({ home, deviceId, iotHubHostName, outbox, log });
 * hub.applyEdgeHubDesired(deployment.edgeHub);          // throws RoutesError; old routes stay
 * const { env, binds } = hub.moduleEnvironment('scoring'); // for the container create
 * ```
 * The upstream side (outbox → IoT Hub) is `startUpstreamSender` in agent/upstream.
 */
import { join, relative } from 'node:path';
import type { Db } from '../../common/db.js';
import { closeDb } from '../../common/db.js';
import type { Logger } from '../../common/logger.js';
import type { EdgeHubDesired } from '../../manifests/types.js';
import { upstreamEvents } from '../upstream/events.js';
import { parseModuleInputEndpoint } from '../upstream/message.js';
import type { OutboxApi } from '../upstream/outbox.js';
import type { SenderStats } from '../upstream/sender.js';
import { ModuleBroker } from './broker.js';
import { startCertificateRenewal } from './cert-renewal.js';
import { type HubEvents, hubEvents } from './events.js';
import { openHubDb } from './hub-db.js';
import { ModuleIdentities } from './identities.js';
import { createIntake } from './message-intake.js';
import { MethodCalls, type MethodRequest, type MethodResult } from './method-calls.js';
import { ModuleInputs } from './module-inputs.js';
import { ModuleSessions, ModuleTwins } from './module-state.js';
import { isRoutesError } from './routes/errors.js';
import { compileRoutes, EMPTY_ROUTE_TABLE, moduleEndpoints, type RouteTable } from './routes/route-table.js';
import { loadOrCreateTls } from './tls-material.js';
import { TlsServer } from './tls-server.js';
import { desiredPatchTopic } from './topics.js';
import type { JsonObject } from './twin-patch.js';
import { startUnroutedNotices } from './unrouted-notices.js';

export interface HubOptions {
  /** The agent's home; the hub keeps its files in `<home>/hub/`. */
  home: string;
  deviceId: string;
  /** `HostName` of the modules' connection strings (the IoT Hub the device belongs to). */
  iotHubHostName: string;
  /** The name modules reach the hub by (default `localhost`); also in the server certificate. */
  gatewayHostName?: string;
  /** Listen address; default 127.0.0.1 (and ::1). */
  listenHost?: string;
  /** A fixed port (start fails when it is taken); default (or 0): see `preferredPort`. */
  port?: number;
  /**
   * Without a fixed port: the port of the last run (module environments name it), else this one
   * (the agent passes DEFAULT_HUB_PORT), else any free one; a taken port falls through to the next.
   */
  preferredPort?: number;
  /** The agent home as the Docker host sees it (the agent in a container); module binds use it. */
  hostHome?: string;
  outbox: OutboxApi;
  log: Logger;
  now?: () => number;
  /** Where the hub's CA file is mounted inside module containers. */
  moduleCaPath?: string;
  /** How often the server certificate is checked for renewal (default once a day). */
  certificateCheckMs?: number;
}

export interface ModuleEnvironment {
  env: Record<string, string>;
  /** Docker bind specs (`host:container:ro`). */
  binds: string[];
}

export interface HubMetrics {
  port: number;
  connectedModules: string[];
  connectsRefused: number;
  publishesRefused: number;
  received: number;
  routed: number;
  unrouted: number;
  routes: string[];
  lastRouteError: { code: string; message: string } | undefined;
  moduleInputs: SenderStats[];
}

export interface Hub {
  readonly port: number;
  /** The CA (PEM) modules trust, and its file in the agent home. */
  readonly caPem: string;
  readonly caPath: string;
  /** Env and binds that let the module's stock SDK reach this hub; creates its identity if needed. */
  moduleEnvironment(moduleId: string): ModuleEnvironment;
  moduleConnectionString(moduleId: string): string;
  /** Forgets a removed module's identity and twin: its key no longer connects. */
  removeModule(moduleId: string): void;
  /** Modules that have an identity (a key that connects). */
  knownModules(): string[];
  /** Applies `$edgeHub` desired properties; throws RoutesError (code ROUTES_INVALID) and keeps the old routes. */
  applyEdgeHubDesired(desired: Pick<EdgeHubDesired, 'routes' | 'storeAndForwardConfiguration'>): void;
  /** Desired properties of each module's twin (`modulesContent.<m>['properties.desired']`); changes are pushed. */
  setModuleTwins(desired: Readonly<Record<string, JsonObject>>): void;
  moduleReported(moduleId: string): JsonObject;
  invokeMethod(moduleId: string, request: MethodRequest): Promise<MethodResult>;
  connectedModules(): string[];
  metrics(): HubMetrics;
  close(): Promise<void>;
}

export const DEFAULT_MODULE_CA_PATH = '/modelport/edge-hub-ca.pem';

/** The port IoT Edge's own edgeHub serves MQTT-TLS on; the agent's hub takes it when it is free. */
export const DEFAULT_HUB_PORT = 8883;

export async function startHub(options: HubOptions): Promise<Hub> {
  const dir = join(options.home, 'hub');
  const events = hubEvents(options.log);
  const now = options.now ?? Date.now;
  const gateway = options.gatewayHostName ?? 'localhost';
  const tlsMaterial = await loadOrCreateTls(dir, gateway, new Date(now()));
  if (tlsMaterial.renewed) events.certificatesMade(dir);
  const db: Db = openHubDb(join(dir, 'hub.db'));
  const identities = new ModuleIdentities(db);
  const sessions = new ModuleSessions(db);
  const twins = new ModuleTwins(db);
  const settings = {
    get: db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE name = ?'),
    set: db.prepare<[string, string]>(
      'INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
    ),
  };
  let routes: RouteTable = EMPTY_ROUTE_TABLE;
  let lastRouteError: HubMetrics['lastRouteError'];
  let port = 0;
  const gatewayWithPort = () => `${gateway}:${port}`;

  const unrouted = startUnroutedNotices(events, () => routes.routes.length);
  const { intake, counters } = createIntake({
    deviceId: options.deviceId,
    outbox: options.outbox,
    routes: () => routes,
    events,
    unrouted,
    now,
  });
  let methods: MethodCalls | undefined;
  const broker = new ModuleBroker({
    deviceId: options.deviceId,
    hostNames: () => [options.iotHubHostName, gatewayWithPort(), gateway],
    identities,
    sessions,
    twins,
    methods: () => methods as MethodCalls,
    intake,
    events,
    now,
  });
  methods = new MethodCalls((m, topic, payload) => broker.send(m, 'methods', topic, payload));
  await broker.start();
  const inputs = new ModuleInputs({
    deviceId: options.deviceId,
    outbox: options.outbox,
    broker,
    events: upstreamEvents(options.log),
  });
  // Messages stored for module inputs by an earlier run are delivered even before routes arrive
  // (also when the outbox opens only later: it then announces the endpoints it holds).
  const inputEndpoints = (endpoints: Iterable<string>) =>
    [...endpoints].filter((e) => parseModuleInputEndpoint(e));
  inputs.ensure(inputEndpoints(Object.keys(options.outbox.metrics().queued.byEndpoint)));
  const stopEnsuring = options.outbox.onCommitted((endpoints) => inputs.ensure(inputEndpoints(endpoints)));

  const server = new TlsServer(tlsMaterial, (socket) => broker.handle(socket));
  const remembered = Number(settings.get.get('port')?.value ?? 0);
  port = await listenOnFirstFree(server, options, remembered, events);
  settings.set.run('port', String(port));
  events.listening(options.listenHost ?? '127.0.0.1', port, tlsMaterial.caPath);
  const renewal = startCertificateRenewal({
    dir,
    gatewayHostName: gateway,
    apply: (material) => server.useCertificate(material),
    events,
    now,
    ...(options.certificateCheckMs !== undefined && { intervalMs: options.certificateCheckMs }),
  });

  const connectionString = (moduleId: string) => {
    const identity = identities.ensure(moduleId);
    return `HostName=${options.iotHubHostName};GatewayHostName=${gatewayWithPort()};DeviceId=${options.deviceId};ModuleId=${moduleId};SharedAccessKey=${identity.primaryKey}`;
  };
  const moduleCaPath = options.moduleCaPath ?? DEFAULT_MODULE_CA_PATH;
  const hostCaPath = options.hostHome
    ? join(options.hostHome, relative(options.home, tlsMaterial.caPath))
    : tlsMaterial.caPath;

  return {
    get port() {
      return port;
    },
    caPem: tlsMaterial.caPem,
    caPath: tlsMaterial.caPath,
    moduleConnectionString: connectionString,
    moduleEnvironment: (moduleId) => ({
      env: {
        EdgeHubConnectionString: connectionString(moduleId),
        EdgeModuleCACertificateFile: moduleCaPath,
        IOTEDGE_DEVICEID: options.deviceId,
        IOTEDGE_MODULEID: moduleId,
        IOTEDGE_IOTHUBHOSTNAME: options.iotHubHostName,
        IOTEDGE_GATEWAYHOSTNAME: gatewayWithPort(),
      },
      binds: [`${hostCaPath}:${moduleCaPath}:ro`],
    }),
    removeModule: (moduleId) => {
      identities.remove(moduleId);
      twins.remove(moduleId);
    },
    knownModules: () => identities.list(),
    applyEdgeHubDesired: (desired) => {
      try {
        routes = compileRoutes(desired);
      } catch (e) {
        if (isRoutesError(e)) {
          lastRouteError = { code: e.code, message: e.message };
          events.routesRejected(e);
        }
        throw e;
      }
      lastRouteError = undefined;
      inputs.ensure(moduleEndpoints(routes));
      events.routesApplied(routes.routes.map((r) => r.name));
    },
    setModuleTwins: (desired) => {
      for (const [moduleId, props] of Object.entries(desired)) {
        const change = twins.setDesired(moduleId, props);
        if (!change) continue;
        const body = JSON.stringify({ ...change.patch, $version: change.version });
        if (broker.send(moduleId, 'desired', desiredPatchTopic(change.version), body))
          events.desiredPushed(moduleId, change.version);
      }
    },
    moduleReported: (moduleId) => twins.reported(moduleId),
    invokeMethod: (moduleId, request) => (methods as MethodCalls).invoke(moduleId, request),
    connectedModules: () => broker.connectedModules(),
    metrics: () => ({
      port,
      connectedModules: broker.connectedModules(),
      ...broker.counters,
      ...counters,
      routes: routes.routes.map((r) => r.name),
      lastRouteError,
      moduleInputs: inputs.stats(),
    }),
    close: async () => {
      renewal.stop();
      stopEnsuring();
      unrouted.stop();
      inputs.stop();
      methods?.close();
      await server.close();
      await broker.close();
      closeDb(db);
    },
  };
}

/**
 * A fixed port or nothing; else the remembered port, the preferred one, any free one, in that order
 * (a changed port gives modules new environments, so they are recreated on the next pass).
 */
async function listenOnFirstFree(
  server: TlsServer,
  options: Pick<HubOptions, 'port' | 'preferredPort' | 'listenHost'>,
  remembered: number,
  events: HubEvents,
): Promise<number> {
  if (options.port) return server.listen(options.port, options.listenHost);
  const candidates = [...new Set([remembered, options.preferredPort ?? 0].filter((p) => p > 0)), 0];
  for (const [i, candidate] of candidates.entries()) {
    try {
      return await server.listen(candidate, options.listenHost);
    } catch (e) {
      // Taken (or not allowed): try the next candidate; the last one (any port) has no fallback.
      if (i === candidates.length - 1) throw e;
      events.portTaken(candidate, e);
    }
  }
  throw new Error('unreachable: the last candidate either listens or throws');
}
