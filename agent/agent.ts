/**
 * The composition root: wires the state store, the Docker runtime, the reconcile loop, the desired
 * state source (manifest file or `$edgeAgent` twin), reported properties and direct methods. No logic
 * of its own beyond wiring; `run(signal)` returns once everything has stopped.
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { messageOf } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { AgentConfig } from './config.js';
import { deployEvents } from './deploy/events.js';
import { type PassSnapshot, ReconcileLoop } from './deploy/loop.js';
import { httpProbe } from './health/probe.js';
import { type EdgeReporting, startEdgeReporting } from './hub/edge-reporting.js';
import type { EdgeServices } from './hub/edge-services.js';
import { hubEvents } from './hub/events.js';
import { publishInventoryToDeviceTwin } from './inventory/device-twin.js';
import { inventoryEvents } from './inventory/events.js';
import { collectInventory, type Inventory } from './inventory/inventory.js';
import { methodEvents } from './methods/events.js';
import { handleMethod, METHOD_NAMES, type MethodDeps } from './methods/methods.js';
import { MethodError } from './methods/requests.js';
import { proxyEvents } from './proxy/events.js';
import { ModuleProxy } from './proxy/module-proxy.js';
import { type ModuleEnvironmentProvider, NO_MODULE_ENVIRONMENT } from './reconcile/desired.js';
import type { PlanSettings } from './reconcile/types.js';
import { edgeHubSystemModule, progressOf } from './report/progress.js';
import { buildReported } from './report/reported.js';
import { FileReportSink, Reporter } from './report/reporter.js';
import { CurrentStateReader, type ObservedContainer } from './runtime/current-state.js';
import { DockerAdapter } from './runtime/docker-adapter.js';
import { runtimeEvents } from './runtime/events.js';
import { createExecutors } from './runtime/executors.js';
import { ImagePuller } from './runtime/pull.js';
import { AgentStore } from './state/store.js';
import {
  type EdgeHubIdentityDeps,
  replayEdgeHubDesired,
  runEdgeHubIdentity,
} from './twin/edgehub-identity.js';
import { EdgeHubDesiredStream } from './twin/edgehub-stream.js';
import { twinEvents } from './twin/events.js';
import { ManifestFileSource } from './twin/file-source.js';
import { agentVersion } from './version.js';

export interface AgentOptions {
  config: AgentConfig;
  logger: Logger;
  /** Default: dockerode from DOCKER_HOST (or the local socket). */
  docker?: Docker;
  now?: () => number;
  /** Per-module env and binds (the local hub's connection strings, issue 9). */
  moduleEnvironment?: ModuleEnvironmentProvider;
  inventory?: () => Promise<Inventory>;
  /** The local hub's entry in reported `systemModules.edgeHub` (default: from `edgeServices`). */
  edgeHubReported?: () => Record<string, unknown> | undefined;
  /**
   * The local hub, outbox and telemetry (agent/hub/edge-services.ts), started and stopped by the
   * caller: the agent gives modules its environments, feeds it `$edgeHub` desired properties, lends
   * it an IoT Hub connection for upstream messages, and reports its state.
   */
  edgeServices?: AgentEdgeServices;
}

export type AgentEdgeServices = Pick<
  EdgeServices,
  | 'moduleEnvironment'
  | 'follow'
  | 'attachUpstream'
  | 'upstreamConnected'
  | 'edgeHubReported'
  | 'edgeHubModuleReported'
  | 'metrics'
  | 'rejectDesired'
  | 'forgetRemovedModules'
>;

/** The agent's own figures for /metrics. */
export interface AgentFigures {
  /** When the last reconcile pass ended (ms since the epoch). */
  lastPassAt: number | undefined;
  modules: Array<{ name: string; runtimeStatus: string; restartCount: number }>;
}

export class Agent {
  /** `$edgeHub` desired properties for the local hub to follow. */
  readonly edgeHub = new EdgeHubDesiredStream();
  readonly store: AgentStore;
  readonly loop: ReconcileLoop;
  private readonly docker: DockerAdapter;
  private readonly reader: CurrentStateReader;
  /** Public ports of start-first modules (agent/reconcile/start-first.ts). */
  private readonly proxy: ModuleProxy;
  private readonly fileReporter: Reporter;
  private hubReporter: Reporter | undefined;
  private hubConnected = () => false;
  private lastDoc: Record<string, unknown> | undefined;
  private inventory: Inventory | undefined;
  private edgeReporting: EdgeReporting | undefined;
  private lastPassAt: number | undefined;
  private readonly startedAt: number;
  private readonly version = agentVersion();

  constructor(private readonly options: AgentOptions) {
    const { config, logger } = options;
    const now = options.now ?? Date.now;
    this.startedAt = now();
    this.store = AgentStore.open(config.home, () => new Date(now()));
    this.docker = new DockerAdapter(options.docker ?? new Docker());
    this.reader = new CurrentStateReader(this.docker, config.agentId);
    this.proxy = new ModuleProxy({ events: proxyEvents(logger.child({ component: 'proxy' })) });
    const events = deployEvents(logger.child({ component: 'deploy' }));
    const puller = new ImagePuller(this.docker, runtimeEvents(logger.child({ component: 'runtime' })));
    const planSettings: PlanSettings = {
      coolOffUnitMs: config.restartCoolOffMs,
      maxCoolOffMs: 300_000,
      maxRestarts: config.maxRestarts,
      stableResetMs: 600_000,
      stepRetryUnitMs: 2_000,
      maxStepAttempts: 4,
    };
    const executors = createExecutors({
      docker: this.docker,
      puller,
      stats: this.store,
      agentId: config.agentId,
      deployment: () => this.loop.deploymentLabel,
      credentials: () =>
        this.loop.latest.target?.deployment.edgeAgent.runtime.settings.registryCredentials ?? {},
      now,
      stopTimeoutSeconds: config.stopTimeoutSeconds,
      proxy: this.proxy,
      probe: httpProbe,
    });
    this.loop = new ReconcileLoop({
      store: this.store,
      readCurrent: async () => this.proxy.annotate(await this.reader.read()),
      readImages: () => this.docker.imageRefs(),
      executors,
      probe: httpProbe,
      provider: options.moduleEnvironment ?? options.edgeServices?.moduleEnvironment ?? NO_MODULE_ENVIRONMENT,
      edgeHub: this.edgeHub,
      events,
      now,
      settings: {
        plan: planSettings,
        healthWindowMs: config.healthWindowMs,
        healthStableMs: config.healthStableMs,
        intervalMs: config.intervalMs,
        verifyIntervalMs: Math.min(1_000, config.intervalMs),
      },
      onPass: (snapshot) => this.report(snapshot),
    });
    this.fileReporter = new Reporter(
      new FileReportSink(config.home, (json) => this.store.setMeta('reported', json)),
      events,
    );
  }

  /** Runs until `signal` aborts: the loop, the desired-state source, Docker events, inventory. */
  async run(signal: AbortSignal): Promise<void> {
    const { config, logger } = this.options;
    const tevents = twinEvents(logger.child({ component: 'twin' }));
    const tasks: Promise<void>[] = [];
    const services = this.options.edgeServices;
    if (services) {
      services.follow(this.edgeHub);
      this.edgeReporting = startEdgeReporting({
        home: config.home,
        services,
        intervalMs: config.intervalMs,
        events: hubEvents(logger.child({ component: 'hub' })),
      });
    }
    const edgeHubDeps = this.edgeHubDeps(tevents);
    // Hub mode: the routes of the last run hold until the $edgeHub twin is read again (maybe offline).
    if (config.mode === 'hub') replayEdgeHubDesired(edgeHubDeps);
    // Without that identity nothing ever gives routes: every module message would be dropped unnoticed.
    if (config.mode === 'hub' && services && !config.edgeHubConnectionString)
      hubEvents(logger.child({ component: 'hub' })).routesNeedEdgeHubIdentity();
    this.loop.resume();
    const inventoryTask = this.collectInventory(signal);
    if (config.mode === 'file' && config.manifest) {
      const source = new ManifestFileSource({ path: config.manifest, events: tevents });
      tasks.push(source.run(signal, (doc) => this.loop.submit(doc)));
    } else if (config.connectionString) {
      tasks.push(this.runHub(config.connectionString, signal, tevents));
    }
    // Offline too: the $edgeHub identity carries messages upstream and holds its reported properties.
    if (config.edgeHubConnectionString)
      tasks.push(runEdgeHubIdentity(config.edgeHubConnectionString, signal, edgeHubDeps));
    tasks.push(this.watchEngine(signal));
    tasks.push(this.loop.run(signal));
    try {
      await Promise.all(tasks);
    } finally {
      // Each step runs even when one before it throws: the database must be closed last, always.
      try {
        await this.edgeReporting?.stop();
      } finally {
        try {
          await this.proxy.close();
        } finally {
          await inventoryTask;
          this.store.close();
        }
      }
    }
  }

  /** Direct-method handlers (also usable without a hub, e.g. by tests and a local API). */
  methodDeps(): MethodDeps {
    const mevents = methodEvents(this.options.logger.child({ component: 'methods' }));
    const find = async (name: string): Promise<ObservedContainer | undefined> => {
      const mine = (await this.reader.read()).filter((c) => c.module === name);
      return mine.find((c) => c.state === 'running') ?? mine[0];
    };
    return {
      moduleNames: () => this.loop.latest.target?.modules.map((m) => m.name) ?? [],
      now: this.options.now ?? Date.now,
      restartModule: (name) =>
        this.loop.exclusive(async () => {
          const c = await find(name);
          if (!c)
            throw new MethodError(409, 'MODULE_HAS_NO_CONTAINER', `module '${name}' has no container yet`);
          mevents.moduleRestartRequested(name);
          await this.docker.restart(c.id, this.options.config.stopTimeoutSeconds);
          this.store.addHistory(
            name,
            'restarted',
            this.loop.latest.target?.record.id,
            'RestartModule direct method',
          );
          this.loop.wake();
        }),
      moduleLogs: async (name, query) => {
        const c = await find(name);
        return c && this.docker.logs(c.id, query, c.inspect.Config?.Tty ?? false);
      },
    };
  }

  private async runHub(
    connectionString: string,
    signal: AbortSignal,
    tevents: ReturnType<typeof twinEvents>,
  ) {
    const { config, logger } = this.options;
    // Loaded in hub mode only: the device SDK costs ~20 MB of memory an offline agent does not need.
    const { HubConnection } = await import('./twin/hub-connection.js');
    const hub = new HubConnection({
      connectionString,
      ...(config.caFile && { caFile: config.caFile }),
      events: tevents,
      label: '$edgeAgent',
    });
    const events = deployEvents(logger.child({ component: 'report' }));
    this.hubReporter = new Reporter({ send: (patch) => hub.updateReported(patch) }, events);
    this.hubConnected = () => hub.connected;
    const services = this.options.edgeServices;
    // Without a $edgeHub identity, upstream messages go through this connection (never a second one).
    if (services && !config.edgeHubConnectionString) {
      services.attachUpstream(hub.upstream);
      hub.onConnected(() => services.upstreamConnected());
    }
    const deps = this.methodDeps();
    const mevents = methodEvents(logger.child({ component: 'methods' }));
    for (const name of METHOD_NAMES) {
      hub.onMethod(name, async (payload) => {
        const started = Date.now();
        const reply = await handleMethod(name, payload, deps);
        mevents.methodCalled(name, reply.status, Date.now() - started);
        return reply;
      });
    }
    hub.onDesired((desired) => {
      const { $version, $metadata: _metadata, ...rest } = desired;
      if (typeof $version !== 'number') {
        tevents.desiredIgnored('$edgeAgent', 'no $version');
        return;
      }
      this.loop.submit({ body: JSON.stringify(rest), version: $version, source: 'twin' });
    });
    hub.onConnected((reported) => {
      this.hubReporter?.setBaseline(reported);
      if (this.lastDoc) void this.hubReporter?.report(this.lastDoc);
    });
    await hub.run(signal);
  }

  private edgeHubDeps(events: ReturnType<typeof twinEvents>): EdgeHubIdentityDeps {
    return {
      config: this.options.config,
      store: this.store,
      stream: this.edgeHub,
      services: this.options.edgeServices,
      reporting: () => this.edgeReporting,
      events,
    };
  }

  /** What the agent's /metrics shows of its own work (modules, last pass). */
  figures(): AgentFigures {
    const modules = (this.lastDoc?.modules ?? {}) as Record<
      string,
      { runtimeStatus: string; restartCount: number }
    >;
    return {
      lastPassAt: this.lastPassAt,
      modules: Object.entries(modules).map(([name, m]) => ({
        name,
        runtimeStatus: m.runtimeStatus,
        restartCount: m.restartCount,
      })),
    };
  }

  private async watchEngine(signal: AbortSignal): Promise<void> {
    const revents = runtimeEvents(this.options.logger.child({ component: 'runtime' }));
    let delay = 1_000;
    while (!signal.aborted) {
      try {
        await this.docker.events(this.options.config.agentId, signal, () => this.loop.wake());
        delay = 1_000;
      } catch (e) {
        revents.engineEventsLost(e, delay);
      }
      await sleep(delay, undefined, { signal }).catch(() => undefined);
      delay = Math.min(delay * 2, 30_000);
    }
  }

  /** Collects the inventory once; with a device identity also writes it to the device twin. Never throws. */
  private async collectInventory(signal: AbortSignal): Promise<void> {
    const log = this.options.logger.child({ component: 'inventory' });
    try {
      const started = Date.now();
      const inventory = await (this.options.inventory ?? collectInventory)();
      inventoryEvents(log).collected(inventory, Date.now() - started);
      this.inventory = inventory;
      this.loop.wake();
      const { deviceConnectionString, caFile } = this.options.config;
      if (deviceConnectionString) {
        await publishInventoryToDeviceTwin({
          connectionString: deviceConnectionString,
          ...(caFile !== undefined && { caFile }),
          inventory,
          signal,
          logger: log,
        });
      }
    } catch (e) {
      log.warn(
        { event: 'inventory-failed', err: messageOf(e) },
        `hardware inventory failed: ${messageOf(e)}`,
      );
    }
  }

  private async report(snapshot: PassSnapshot): Promise<void> {
    const { config } = this.options;
    const target = snapshot.target;
    const services = this.options.edgeServices;
    const edgeHub =
      this.options.edgeHubReported?.() ??
      (services && edgeHubSystemModule(services, config.agentImage ?? `modelport-agent:${this.version}`));
    // A module that left the deployment (and has no container any more) loses its hub key.
    if (services && target)
      services.forgetRemovedModules([
        ...target.modules.map((m) => m.name),
        ...snapshot.containers.map((c) => c.module),
      ]);
    const outbox = services?.metrics().outbox.status;
    const doc = buildReported({
      agentId: config.agentId,
      agentVersion: this.version,
      agentImage: config.agentImage ?? `modelport-agent:${this.version}`,
      agentStartedAt: this.startedAt,
      platform: { os: process.platform, architecture: os.machine(), version: this.version },
      desired: target?.deployment.edgeAgent,
      modules: target?.modules ?? [],
      containers: snapshot.containers,
      stats: this.store.moduleStats(),
      waits: snapshot.waits,
      lastDesired: snapshot.lastDesired,
      deployment: progressOf(snapshot),
      ...(edgeHub && { edgeHub }),
      ...(this.inventory && { inventory: this.inventory as unknown as Record<string, unknown> }),
      ...(outbox && { outbox }),
    });
    this.lastDoc = doc;
    this.lastPassAt = (this.options.now ?? Date.now)();
    // While offline nothing is sent: the next connection sets the baseline and sends the difference.
    if (this.hubConnected()) void this.hubReporter?.report(doc);
    await this.fileReporter.report(doc);
  }
}
