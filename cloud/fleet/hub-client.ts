/**
 * The fleet's one way to IoT Hub: azure-iothub's `Registry`, with every call bounded by a timeout and
 * every failure turned into a ModelportError (hub-errors.ts).
 *
 * Transport: the SDK sends REST calls through an https agent it creates itself and exposes no option
 * for a CA or a port. A HostName with a port (`hub.example:8443`, a gateway or proxy in front of the
 * hub) and a private CA (a TLS-inspecting proxy) both need our own agent, installed the one way the SDK
 * allows (`_restApiClient.setOptions({http: {agent}})`); `options.agent` replaces it entirely.
 */
import https from 'node:https';
import tls from 'node:tls';
import type { Configuration, ConfigurationContent, Device, Registry } from 'azure-iothub';
import iothub from 'azure-iothub';
import { ModelportError, UnavailableError } from '../../common/errors.js';
import { DEFAULT_HUB_TIMEOUT_MS, type HubConnection, parseHubConnectionString } from './connection-string.js';
import { statusOf, toHubError } from './hub-errors.js';

export interface HubClientOptions {
  /** Where the connection string came from, for messages (default `the hub connection string`). */
  source?: string;
  /** Extra CA certificate(s) (PEM) to trust besides the system's. */
  caPem?: string;
  /** Per-call limit (default 30 s). */
  timeoutMs?: number;
  /** Use this agent for every call instead of one made here. */
  agent?: https.Agent;
}

interface RestApiClientSeam {
  _restApiClient?: { setOptions?(options: { http: { agent: https.Agent } }): void };
}

export class HubClient {
  private constructor(
    private readonly registry: Registry,
    readonly connection: HubConnection,
    private readonly agent: https.Agent,
    private readonly ownsAgent: boolean,
    private readonly timeoutMs: number,
  ) {}

  static fromConnectionString(connectionString: string, options: HubClientOptions = {}): HubClient {
    const connection = parseHubConnectionString(
      connectionString,
      options.source ?? 'the hub connection string',
    );
    // azure-iothub is CommonJS whose named exports Node cannot detect: take Registry from the default export.
    const registry = iothub.Registry.fromConnectionString(connectionString);
    const agent =
      options.agent ??
      new https.Agent({
        keepAlive: true,
        ...(connection.port !== undefined && { host: connection.host, port: connection.port }),
        ...(options.caPem !== undefined && { ca: [...tls.rootCertificates, options.caPem] }),
      });
    const rest = (registry as unknown as RestApiClientSeam)._restApiClient;
    if (typeof rest?.setOptions !== 'function') {
      throw new ModelportError(
        'HUB_SDK_UNSUPPORTED',
        'this azure-iothub version has no _restApiClient.setOptions; modelport cannot set its transport',
        { hint: 'install the azure-iothub version pinned in package.json' },
      );
    }
    rest.setOptions({ http: { agent } });
    return new HubClient(
      registry,
      connection,
      agent,
      options.agent === undefined,
      options.timeoutMs ?? DEFAULT_HUB_TIMEOUT_MS,
    );
  }

  get hostName(): string {
    return this.connection.hostName;
  }

  /** Ends keep-alive connections (an agent passed in by the caller is left alone). */
  close(): void {
    if (this.ownsAgent) this.agent.destroy();
  }

  private async call<T>(operation: string, run: () => Promise<{ responseBody: T }>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new UnavailableError(
              'HUB_TIMEOUT',
              `IoT Hub ${this.hostName} did not answer within ${this.timeoutMs < 1000 ? `${this.timeoutMs} ms` : `${Math.round(this.timeoutMs / 1000)} s`} (trying to ${operation})`,
              { hint: 'check the network path to the hub, or raise --timeout' },
            ),
          ),
        this.timeoutMs,
      );
    });
    try {
      return (await Promise.race([run(), timeout])).responseBody;
    } catch (e) {
      throw toHubError(e, { hostName: this.hostName, policyName: this.connection.policyName, operation });
    } finally {
      clearTimeout(timer);
    }
  }

  /** The configuration, or undefined when the hub has none with this id. */
  async getConfiguration(id: string): Promise<Configuration | undefined> {
    try {
      return await this.call(`read deployment '${id}'`, () => this.registry.getConfiguration(id));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  listConfigurations(): Promise<Configuration[]> {
    return this.call('list deployments', () => this.registry.getConfigurations());
  }

  /** Creates; the hub answers 409 (a ConflictError here) when the id exists. */
  addConfiguration(configuration: Configuration): Promise<Configuration> {
    return this.call(`create deployment '${configuration.id}'`, () =>
      this.registry.addConfiguration(configuration),
    );
  }

  /** Replaces the mutable fields, if the hub's etag is still `configuration.etag` (else ETAG_MISMATCH). */
  updateConfiguration(configuration: Configuration): Promise<Configuration> {
    return this.call(`update deployment '${configuration.id}'`, () =>
      this.registry.updateConfiguration(configuration, false),
    );
  }

  async removeConfiguration(id: string): Promise<void> {
    await this.call(`delete deployment '${id}'`, () => this.registry.removeConfiguration(id));
  }

  /** The device identity, or undefined when the hub has no such device. */
  async getDevice(deviceId: string): Promise<Device | undefined> {
    try {
      return await this.call(`read device '${deviceId}'`, () => this.registry.get(deviceId));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async applyConfigurationContentOnDevice(deviceId: string, content: ConfigurationContent): Promise<void> {
    await this.call(`apply the deployment to device '${deviceId}'`, () =>
      this.registry.applyConfigurationContentOnDevice(deviceId, content),
    );
  }
}

function isNotFound(e: unknown): boolean {
  return (e instanceof ModelportError && e.code === 'HUB_NOT_FOUND') || statusOf(e) === 404;
}
