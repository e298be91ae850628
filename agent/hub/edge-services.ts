/**
 * Everything issue 9 adds to the agent, started and stopped as one: the outbox
 * (`<home>/outbox.db`), the local hub, the upstream sender (once an IoT Hub client is attached),
 * alerts for dropped messages, and telemetry. The agent's composition (agent/main.ts, agent/agent.ts):
 *
 * ```ts
 * const services = await startEdgeServices({ home, deviceId, iotHubHostName, log, docker, telemetryIntervalSecs });
 * new Agent({ ..., edgeServices: services });   // module environments, $edgeHub stream, upstream, reporting
 * // hub mode: services.attachUpstream(connection.upstream); services.upstreamConnected() on each reconnect
 * // $edgeHub reported properties: services.edgeHubReported(); metrics snapshot: services.metrics()
 * await services.stop();
 * ```
 */
import { join } from 'node:path';
import type Docker from 'dockerode';
import { messageOf } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { EdgeHubDesired } from '../../manifests/types.js';
import { startTelemetry, type Telemetry } from '../telemetry/telemetry-loop.js';
import { startDropAlerts } from '../upstream/drop-alerts.js';
import { upstreamEvents } from '../upstream/events.js';
import type { DeviceClientLike } from '../upstream/iothub-delivery.js';
import { openOutbox } from '../upstream/open-outbox.js';
import type { OutboxApi, OutboxMetrics } from '../upstream/outbox.js';
import { OutboxSlot } from '../upstream/outbox-slot.js';
import type { EndpointSender } from '../upstream/sender.js';
import { startUpstreamSender } from '../upstream/upstream-sender.js';
import { hubEvents } from './events.js';
import { type Hub, type HubMetrics, type ModuleEnvironment, startHub } from './hub.js';
import type { JsonObject } from './twin-patch.js';

export interface EdgeServicesOptions {
  home: string;
  deviceId: string;
  /** `HostName` of the IoT Hub (hub mode), or any name offline (modules sign tokens for it). */
  iotHubHostName: string;
  gatewayHostName?: string;
  listenHost?: string;
  /** A fixed hub port (start fails when taken); else the last run's, then `preferredPort`, then any. */
  port?: number;
  preferredPort?: number;
  /** The agent home as the Docker host sees it, when the agent runs in a container (module binds). */
  hostHome?: string;
  /** Outbox disk cap; default min(1 GiB, 10% of the free space of the home). */
  outboxCapBytes?: number;
  /** First retry after the outbox failed to open (default 1 s, doubling up to 30 s). */
  outboxRetryMs?: number;
  /** Seconds between telemetry rounds; 0 = off. */
  telemetryIntervalSecs: number;
  docker?: Docker;
  agentId?: string;
  log: Logger;
}

/** What the agent's `$edgeHub` stream delivers (agent/twin/edgehub-stream.ts). */
export interface EdgeHubUpdate {
  version: number;
  edgeHub: Pick<EdgeHubDesired, 'routes' | 'storeAndForwardConfiguration' | 'schemaVersion'>;
  moduleTwins: Record<string, JsonObject>;
}

/**
 * The `$edgeHub` reported properties, in edgeHub's shape (schemaVersion, lastDesiredVersion,
 * lastDesiredStatus, clients) plus the store-and-forward figures that change rarely: what left the
 * outbox unsent (lifetime counts) and its state. Queue lengths and delivery counts change with every
 * message; they are in telemetry and in the metrics snapshot instead (a twin is no counter).
 */
export interface EdgeHubReported {
  schemaVersion: string;
  lastDesiredVersion?: number;
  lastDesiredStatus: { code: number; description: string };
  clients: Record<string, { status: 'Connected' }>;
  /** Module messages no route took since the agent started (acknowledged and dropped, as edgeHub does). */
  unroutedMessages: number;
  storeAndForward: Pick<OutboxMetrics, 'capBytes'> &
    Pick<OutboxMetrics['totals'], 'expired' | 'evicted' | 'rejected'> & {
      status: OutboxMetrics['status']['state'];
      lastError?: NonNullable<OutboxMetrics['status']['lastError']>;
      recoveredFromCorruption?: NonNullable<OutboxMetrics['status']['recoveredFromCorruption']>;
    };
}

/** The local hub's entry in the `$edgeAgent` reported `systemModules.edgeHub` (the agent adds the rest). */
export interface EdgeHubModuleReported {
  runtimeStatus: 'running';
  statusDescription: string;
  lastStartTimeUtc: string;
}

/** A point-in-time copy of every counter (written to `<home>/metrics.json` by the agent). */
export interface EdgeMetrics {
  hub: HubMetrics;
  outbox: OutboxMetrics;
  upstream: ReturnType<EndpointSender['stats']> | undefined;
}

export interface EdgeServices {
  readonly hub: Hub;
  readonly outbox: OutboxApi;
  /** Structurally the agent's ModuleEnvironmentProvider. */
  readonly moduleEnvironment: { forModule(name: string): ModuleEnvironment };
  /** Follows `$edgeHub` desired properties; bad routes are reported, the previous ones stay. */
  follow(stream: { subscribe(listener: (update: EdgeHubUpdate) => void): () => void }): void;
  /** Applies one update now (what `follow` does for each). */
  apply(update: EdgeHubUpdate): void;
  /**
   * `$edgeHub` desired properties of this version could not be read at all (schema): reported as
   * `lastDesiredStatus` 400 with the reason, as for routes that do not parse; the routes stay.
   */
  rejectDesired(version: number, description: string): void;
  /**
   * Forgets the hub identity (key, twin) of every module not in `deployed` (the deployment's
   * modules and those that still have a container), so a removed module's key stops connecting.
   */
  forgetRemovedModules(deployed: Iterable<string>): string[];
  /**
   * Starts sending the outbox to IoT Hub through this client (one sender; a new client replaces it).
   * Give a client that stays valid across reconnections (HubConnection.upstream), not one per connection.
   */
  attachUpstream(client: DeviceClientLike): void;
  /** The upstream client (re)connected: a sender backing off retries now. */
  upstreamConnected(): void;
  edgeHubReported(): EdgeHubReported;
  edgeHubModuleReported(): EdgeHubModuleReported;
  metrics(): EdgeMetrics;
  stop(): Promise<void>;
}

export async function startEdgeServices(options: EdgeServicesOptions): Promise<EdgeServices> {
  const log = options.log;
  const outboxPath = join(options.home, 'outbox.db');
  const outboxLog = log.child({ component: 'outbox' });
  // An outbox that cannot be opened does not stop the agent: the slot refuses messages and retries.
  const outbox = await OutboxSlot.open({
    path: outboxPath,
    open: () =>
      openOutbox({
        path: outboxPath,
        ...(options.outboxCapBytes !== undefined && { capBytes: options.outboxCapBytes }),
        log: outboxLog,
      }),
    events: upstreamEvents(outboxLog),
    ...(options.outboxRetryMs !== undefined && { initialRetryMs: options.outboxRetryMs }),
  });
  const hub = await startHub({
    home: options.home,
    deviceId: options.deviceId,
    iotHubHostName: options.iotHubHostName,
    ...(options.gatewayHostName !== undefined && { gatewayHostName: options.gatewayHostName }),
    ...(options.listenHost !== undefined && { listenHost: options.listenHost }),
    ...(options.port !== undefined && { port: options.port }),
    ...(options.preferredPort !== undefined && { preferredPort: options.preferredPort }),
    ...(options.hostHome !== undefined && { hostHome: options.hostHome }),
    outbox,
    log: log.child({ component: 'hub' }),
  }).catch((e: unknown) => {
    outbox.close();
    throw e;
  });
  const startedAt = new Date().toISOString();
  const alerts = startDropAlerts({ outbox, events: upstreamEvents(log.child({ component: 'outbox' })) });
  let sender: EndpointSender | undefined;
  let lastVersion: number | undefined;
  let schemaVersion = '1.1';
  let status = { code: 200, description: '' };
  const unsubscribes: Array<() => void> = [];

  const telemetry: Telemetry = startTelemetry({
    intervalSecs: options.telemetryIntervalSecs,
    outbox,
    agentHome: options.home,
    ...(options.docker && { docker: options.docker }),
    ...(options.agentId !== undefined && { agentId: options.agentId }),
    extra: () => {
      const m = outbox.metrics();
      return {
        outbox: {
          queued: m.queued.count,
          queuedBytes: m.queued.bytes,
          oldestAgeMs: m.queued.oldestAgeMs,
          totals: m.totals,
          status: m.status.state,
        },
        hub: {
          connectedModules: hub.connectedModules().length,
          ...pick(hub.metrics(), ['received', 'routed', 'unrouted', 'publishesRefused', 'connectsRefused']),
        },
      };
    },
    log: log.child({ component: 'telemetry' }),
  });

  const apply = (update: EdgeHubUpdate) => {
    lastVersion = update.version;
    schemaVersion = update.edgeHub.schemaVersion;
    try {
      hub.applyEdgeHubDesired(update.edgeHub);
      status = { code: 200, description: '' };
    } catch (e) {
      // The hub logged it and kept its routes; the code and text go to reported properties.
      status = { code: 400, description: messageOf(e) };
    }
    hub.setModuleTwins(update.moduleTwins);
  };

  return {
    hub,
    outbox,
    moduleEnvironment: { forModule: (name) => hub.moduleEnvironment(name) },
    follow: (stream) => {
      unsubscribes.push(stream.subscribe(apply));
    },
    apply,
    rejectDesired: (version, description) => {
      lastVersion = version;
      status = { code: 400, description };
    },
    forgetRemovedModules: (deployed) => {
      const keep = new Set(deployed);
      const gone = hub.knownModules().filter((m) => !keep.has(m));
      for (const m of gone) hub.removeModule(m);
      if (gone.length > 0) hubEvents(log.child({ component: 'hub' })).modulesForgotten(gone);
      return gone;
    },
    attachUpstream: (client) => {
      sender?.stop();
      sender = startUpstreamSender({ outbox, client, log: log.child({ component: 'upstream' }) });
    },
    upstreamConnected: () => sender?.retryNow(),
    edgeHubReported: () => {
      const m = outbox.metrics();
      const { lastError, recoveredFromCorruption } = m.status;
      return {
        schemaVersion,
        ...(lastVersion !== undefined && { lastDesiredVersion: lastVersion }),
        lastDesiredStatus: status,
        clients: Object.fromEntries(
          hub
            .connectedModules()
            .map((mod) => [`${options.deviceId}/${mod}`, { status: 'Connected' as const }]),
        ),
        unroutedMessages: hub.metrics().unrouted,
        storeAndForward: {
          status: m.status.state,
          capBytes: m.capBytes,
          expired: m.totals.expired,
          evicted: m.totals.evicted,
          rejected: m.totals.rejected,
          ...(lastError && { lastError }),
          ...(recoveredFromCorruption && { recoveredFromCorruption }),
        },
      };
    },
    edgeHubModuleReported: () => ({
      runtimeStatus: 'running',
      statusDescription: `local hub on ${options.listenHost ?? '127.0.0.1'}:${hub.port} (modelport-agent)`,
      lastStartTimeUtc: startedAt,
    }),
    metrics: () => ({ hub: hub.metrics(), outbox: outbox.metrics(), upstream: sender?.stats() }),
    stop: async () => {
      for (const u of unsubscribes.splice(0)) u();
      telemetry.stop();
      sender?.stop();
      await alerts.flush();
      alerts.stop();
      await hub.close();
      outbox.close();
    },
  };
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;
}
