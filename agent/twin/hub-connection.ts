/**
 * One module identity's connection to IoT Hub over MQTT-TLS (azure-iot-device + azure-iot-device-mqtt):
 * open, read the twin, follow desired patches, answer direct methods, send reported patches. The SDK
 * retries transient drops itself; when it gives up (or open fails) this class closes the client and
 * opens a new one with its own back-off (1 s doubling to 60 s, with jitter), forever. After every
 * (re)connection the whole twin is read again, so patches missed while offline are not lost.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import common from 'azure-iot-common';
import deviceSdk, { type Message, type ModuleClient, type Twin } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import { UnavailableError } from '../../common/errors.js';
import type { DeviceClientLike } from '../upstream/iothub-delivery.js';
import type { TwinEvents } from './events.js';

export type JsonObject = Record<string, unknown>;

export interface MethodReply {
  status: number;
  payload: unknown;
}

export interface HubConnectionOptions {
  connectionString: string;
  /** PEM file of the CA that signed the hub's (or gateway's) certificate. */
  caFile?: string;
  events: TwinEvents;
  /** Who this is, for logs: `$edgeAgent`, `$edgeHub`. */
  label: string;
  backoff?: { initialMs: number; maxMs: number };
}

type DesiredListener = (desired: JsonObject) => void;
type ConnectedListener = (reported: JsonObject) => void;
type MethodHandler = (payload: unknown) => Promise<MethodReply>;

const plain = (o: unknown): JsonObject => {
  const copy = JSON.parse(JSON.stringify(o ?? {})) as JsonObject;
  delete copy['update'];
  return copy;
};

export class HubConnection {
  private client: ModuleClient | undefined;
  private twin: Twin | undefined;
  private readonly desiredListeners: DesiredListener[] = [];
  private readonly connectedListeners: ConnectedListener[] = [];
  private readonly methods = new Map<string, MethodHandler>();
  private lost: (() => void) | undefined;
  /** The last desired `$version` passed to listeners. */
  private lastVersion: number | undefined;

  /**
   * Device-to-cloud sends through whichever client is connected now (one identity, one connection:
   * IoT Hub drops an older connection of the same identity). Rejects while not connected, so the
   * outbox's sender keeps the message and retries; stable across reconnections.
   */
  readonly upstream: DeviceClientLike = {
    sendEvent: (message: Message) => this.withClient((c) => c.sendEvent(message)),
    sendOutputEvent: (output: string, message: Message) =>
      this.withClient((c) => c.sendOutputEvent(output, message)),
  };

  constructor(private readonly options: HubConnectionOptions) {}

  get connected(): boolean {
    return this.twin !== undefined;
  }

  /** Called with the whole desired document (with `$version`) after a connect and after each patch. */
  onDesired(listener: DesiredListener): void {
    this.desiredListeners.push(listener);
  }

  /** Called after each (re)connection with the reported properties the hub holds. */
  onConnected(listener: ConnectedListener): void {
    this.connectedListeners.push(listener);
  }

  /** Registers a direct method (before `run`). */
  onMethod(name: string, handler: MethodHandler): void {
    this.methods.set(name, handler);
  }

  /** Connects and stays connected until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { initialMs, maxMs } = this.options.backoff ?? { initialMs: 1_000, maxMs: 60_000 };
    let delay = initialMs;
    while (!signal.aborted) {
      try {
        await this.connect();
        delay = initialMs;
        await this.untilLost(signal);
      } catch (e) {
        this.options.events.connectFailed(this.options.label, e, delay);
      }
      await this.close();
      if (signal.aborted) break;
      const jittered = Math.round(delay * (0.8 + 0.4 * Math.random()));
      await sleep(jittered, undefined, { signal }).catch(() => undefined);
      delay = Math.min(delay * 2, maxMs);
    }
    await this.close();
  }

  /** Sends a reported-properties patch; rejects when not connected or when the hub refuses it. */
  updateReported(patch: JsonObject): Promise<void> {
    const twin = this.twin;
    if (!twin) {
      return Promise.reject(
        new UnavailableError('HUB_NOT_CONNECTED', `${this.options.label} is not connected to IoT Hub`),
      );
    }
    return new Promise((resolve, reject) => {
      // azure-iot-device 1.18 takes only a callback here; a promise form would not wait for the ack.
      twin.properties.reported.update(patch, (err?: Error) => (err ? reject(err) : resolve()));
    });
  }

  private withClient<T>(send: (client: ModuleClient) => Promise<T>): Promise<T> {
    const client = this.client;
    if (!client || !this.twin) {
      return Promise.reject(
        new UnavailableError('HUB_NOT_CONNECTED', `${this.options.label} is not connected to IoT Hub`),
      );
    }
    return send(client);
  }

  private async connect(): Promise<void> {
    const { events, label } = this.options;
    // azure-iot-device is CommonJS without named-export hints: take ModuleClient off the default export.
    const client = deviceSdk.ModuleClient.fromConnectionString(this.options.connectionString, Mqtt);
    this.client = client;
    client.on('error', (e: Error) => events.clientError(label, e));
    client.on('disconnect', () => this.lost?.());
    client.on('connect', () => {
      // The SDK reconnected by itself: read the twin again (patches may have been missed).
      if (this.twin) void this.refreshTwin();
    });
    if (this.options.caFile) await client.setOptions({ ca: readFileSync(this.options.caFile, 'utf8') });
    // open() fails fast (our own back-off retries it); once connected, the SDK's default policy
    // retries twin operations and transient drops (the twin takes the policy set when it is made).
    client.setRetryPolicy(new common.NoRetry());
    await client.open();
    client.setRetryPolicy(new common.ExponentialBackOffWithJitter());
    const twin = await client.getTwin();
    this.twin = twin;
    for (const [name, handler] of this.methods) {
      client.onMethod(name, (request, response) => {
        if (!request || !response) return;
        void handler(request.payload).then((reply) =>
          response.send(reply.status, reply.payload, (err?: Error) => {
            if (err) events.methodResponseFailed(label, name, err);
          }),
        );
      });
    }
    twin.on('properties.desired', () => this.emitDesired(twin));
    events.connected(label);
    this.emitConnected(twin);
    // A patch sent between getTwin() and the desired-properties SUBSCRIBE the listener above starts is
    // never delivered (seen under load: a deployment applied just after the agent connected stayed
    // unseen). One more read after that SUBSCRIBE closes the gap; only a newer `$version` is passed on.
    await this.catchUp(twin);
  }

  private async catchUp(twin: Twin): Promise<void> {
    try {
      await twin.get();
    } catch (e) {
      this.options.events.clientError(this.options.label, e);
      return;
    }
    // Compared with the version passed on by now: a patch that arrived during the read may be newer.
    const version = plain(twin.properties.desired)['$version'];
    if (typeof version === 'number' && (this.lastVersion === undefined || version > this.lastVersion))
      this.emitDesired(twin);
  }

  private async refreshTwin(): Promise<void> {
    const twin = this.twin;
    if (!twin) return;
    try {
      await twin.get();
      this.emitConnected(twin);
      this.emitDesired(twin);
    } catch (e) {
      this.options.events.clientError(this.options.label, e);
    }
  }

  private emitDesired(twin: Twin): void {
    const desired = plain(twin.properties.desired);
    // While the SDK re-reads the twin it fires this event with a document still being filled in (no
    // `$version`): a whole desired document always carries one, so anything else is not passed on.
    if (typeof desired['$version'] !== 'number') return;
    this.lastVersion = desired['$version'];
    for (const l of this.desiredListeners) l(desired);
  }

  private emitConnected(twin: Twin): void {
    const reported = plain(twin.properties.reported);
    for (const l of this.connectedListeners) l(reported);
  }

  private untilLost(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        this.lost = undefined;
        resolve();
      };
      this.lost = () => {
        this.options.events.disconnected(this.options.label);
        done();
      };
      // Aborted while connecting: the abort event has fired already and will not fire again.
      if (signal.aborted) done();
      else signal.addEventListener('abort', done, { once: true });
    });
  }

  private async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.twin = undefined;
    if (!client) return;
    client.removeAllListeners();
    // Keep a listener: a late transport error must not become an unhandled 'error' event.
    client.on('error', () => undefined);
    await client.close().catch((e: unknown) => this.options.events.clientError(this.options.label, e));
  }
}
