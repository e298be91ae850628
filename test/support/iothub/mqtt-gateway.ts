/**
 * IoT Hub's device endpoint over MQTT 3.1.1, on a real aedes broker: CONNECT with a SAS token is
 * checked against the identity registry, and the hub's topics are served the way IoT Hub serves
 * them (see README in index.ts). Device publishes are handled in aedes' `authorizePublish`, before
 * the broker sends PUBACK, so a QoS 1 message is stored before it is acknowledged (at least once).
 * The hub answers on the publishing connection only; devices cannot reach each other's topics.
 *
 * Sessions follow MQTT's clean-session flag: with `clean=false` (what the Azure device SDK uses) the
 * hub remembers which features a client subscribed to across reconnects and emulator restarts, as
 * the SDK relies on.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { Aedes, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes';
import { checkConnect } from './connect-check.js';
import { DirectMethodCalls, type MethodRequest, type MethodResult } from './direct-methods.js';
import { type HubError, isHubError, mqttErrorBody } from './errors.js';
import type { IdentityStore } from './identity-store.js';
import {
  classifyPublish,
  cloudToDeviceTopic,
  desiredPatchTopic,
  type Feature,
  featureOf,
  twinResponseTopic,
} from './mqtt-topics.js';
import { parsePropertyBag, type TelemetryStore } from './telemetry-store.js';
import { mqttTwinDocument, type Twin, type TwinStore } from './twin-store.js';

interface Session {
  readonly clientId: string;
  readonly deviceId: string;
  readonly moduleId: string | undefined;
  features: Set<Feature>;
  client: Client | undefined;
  /** Cloud-to-device messages waiting for the device to subscribe. */
  c2dQueue: PublishPacket[];
}

export interface ConnectionAttempt {
  readonly clientId: string;
  readonly accepted: boolean;
  /** CONNACK return code: 0 accepted, 2 identifier rejected, 3 server unavailable, 5 not authorized. */
  readonly returnCode: number;
  readonly reason: string;
  readonly at: string;
}

export interface GatewayOptions {
  hostName(): string;
  identities: IdentityStore;
  twins: TwinStore;
  telemetry: TelemetryStore;
  now(): Date;
  /** Epoch ms until which new connections are refused (CONNACK 3). */
  refuseUntil(): number;
  /** Milliseconds to hold each device publish before handling (and acknowledging) it. */
  ackDelayMs(): number;
}

export interface CloudToDeviceMessage {
  body: string | Buffer;
  messageId?: string;
  correlationId?: string;
  properties?: Record<string, string>;
}

/** IoT Hub's limit for one device-to-cloud message. */
const MAX_MESSAGE_BYTES = 256 * 1024;

export class MqttGateway {
  private broker: Aedes | undefined;
  private readonly sessions = new Map<string, Session>();
  private readonly sessionOf = new WeakMap<Client, Session>();
  private readonly changes = new EventEmitter();
  private readonly attempts: ConnectionAttempt[] = [];
  readonly methods: DirectMethodCalls;

  constructor(private readonly options: GatewayOptions) {
    this.changes.setMaxListeners(0);
    this.methods = new DirectMethodCalls({
      findSession: (deviceId, moduleId) => this.methodTarget(deviceId, moduleId),
      onChange: (listener) => {
        this.changes.on('change', listener);
        return () => this.changes.off('change', listener);
      },
    });
  }

  async start(): Promise<void> {
    this.broker = await Aedes.createBroker({
      authenticate: (client, username, password, done) => this.authenticate(client, username, password, done),
      authorizePublish: (client, packet, done) => this.onPublish(client, packet, done),
      // Every topic a device may publish on is one no device may subscribe to, so the broker's own
      // routing never carries device traffic to another device; the hub answers with client.publish.
      authorizeSubscribe: (client, sub, done) => this.onSubscribe(client, sub, done),
    });
    this.broker.on('clientDisconnect', (client) => this.onDisconnect(client));
    this.broker.on('unsubscribe', (topics, client) => {
      const session = this.sessionOf.get(client);
      for (const topic of topics) {
        const feature = session && featureOf(topic, session.deviceId, session.moduleId);
        if (feature) session.features.delete(feature);
      }
    });
  }

  async stop(): Promise<void> {
    const broker = this.broker;
    this.broker = undefined;
    for (const session of this.sessions.values()) {
      if (!session.client) continue;
      session.client = undefined;
      this.options.identities.setConnectionState(session.deviceId, session.moduleId, false);
    }
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
  }

  handle(socket: Duplex): void {
    if (!this.broker) {
      socket.destroy();
      return;
    }
    this.broker.handle(socket);
  }

  connectionAttempts(): readonly ConnectionAttempt[] {
    return this.attempts;
  }

  isConnected(deviceId: string, moduleId: string | undefined): boolean {
    return [...this.sessions.values()].some(
      (s) => s.client && s.deviceId === deviceId && s.moduleId === moduleId,
    );
  }

  /** What the identity's session is subscribed to (e.g. to wait until a client listens for desired properties). */
  subscriptions(deviceId: string, moduleId: string | undefined): Feature[] {
    const features = new Set<Feature>();
    for (const s of this.sessions.values()) {
      if (s.client && s.deviceId === deviceId && s.moduleId === moduleId)
        for (const f of s.features) features.add(f);
    }
    return [...features].sort();
  }

  /** Drops the connections of an identity whose credentials were revoked (deleted, disabled, new keys). */
  disconnect(deviceId: string, moduleId: string | undefined): void {
    for (const session of [...this.sessions.values()]) {
      if (session.deviceId !== deviceId || (moduleId !== undefined && session.moduleId !== moduleId))
        continue;
      session.client?.close();
      this.sessions.delete(session.clientId);
    }
  }

  /** Pushes a desired-properties patch to every connection of the twin's identity that subscribed. */
  pushDesired(twin: Twin, patch: Record<string, unknown>): void {
    const body = JSON.stringify({ ...patch, $version: twin.desiredVersion });
    for (const session of this.sessions.values()) {
      if (session.deviceId !== twin.deviceId || session.moduleId !== twin.moduleId) continue;
      if (!session.features.has('desired')) continue;
      this.send(session, desiredPatchTopic(twin.desiredVersion), body, 0);
    }
  }

  invokeMethod(
    deviceId: string,
    moduleId: string | undefined,
    request: MethodRequest,
  ): Promise<MethodResult> {
    return this.methods.invoke(deviceId, moduleId, request);
  }

  /** Sends a cloud-to-device message (QoS 1); queued until the device subscribes. */
  sendCloudToDevice(deviceId: string, message: CloudToDeviceMessage): void {
    this.options.identities.requireDevice(deviceId);
    const packet: PublishPacket = {
      cmd: 'publish',
      topic: cloudToDeviceTopic(deviceId, message),
      payload: typeof message.body === 'string' ? Buffer.from(message.body) : message.body,
      qos: 1,
      retain: false,
      dup: false,
    };
    const session = [...this.sessions.values()].find(
      (s) => s.deviceId === deviceId && s.moduleId === undefined,
    );
    if (session?.client && session.features.has('c2d')) {
      session.client.publish(packet, ignoreDeliveryError);
    } else {
      this.sessionFor(deviceId, undefined, deviceId).c2dQueue.push(packet);
    }
  }

  private sessionFor(clientId: string, moduleId: string | undefined, deviceId: string): Session {
    let session = this.sessions.get(clientId);
    if (!session) {
      session = { clientId, deviceId, moduleId, features: new Set(), client: undefined, c2dQueue: [] };
      this.sessions.set(clientId, session);
    }
    return session;
  }

  private authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    const verdict = checkConnect({
      clientId: client.id,
      username,
      password: password?.toString(),
      hostName: this.options.hostName(),
      identities: this.options.identities,
      refusing: Date.now() < this.options.refuseUntil(),
      nowMs: Date.now(),
    });
    if (!verdict.ok) {
      this.record(client.id, verdict.returnCode, verdict.reason);
      done(
        Object.assign(new Error(verdict.reason), { returnCode: verdict.returnCode }) as AuthenticateError,
        false,
      );
      return;
    }
    const { deviceId, moduleId } = verdict;
    const session = this.sessionFor(client.id, moduleId, deviceId);
    if (client.clean) session.features.clear();
    session.client = client;
    this.sessionOf.set(client, session);
    this.options.identities.setConnectionState(deviceId, moduleId, true);
    this.record(client.id, 0, 'accepted');
    done(null, true);
    this.changes.emit('change');
  }

  private onDisconnect(client: Client): void {
    const session = this.sessionOf.get(client);
    if (!session || session.client !== client) return;
    session.client = undefined;
    if (client.clean) this.sessions.delete(session.clientId);
    this.options.identities.setConnectionState(session.deviceId, session.moduleId, false);
    this.changes.emit('change');
  }

  private onSubscribe(
    client: Client,
    sub: Subscription,
    done: (error: Error | null, subscription?: Subscription | null) => void,
  ): void {
    const session = this.sessionOf.get(client);
    const feature = session && featureOf(sub.topic, session.deviceId, session.moduleId);
    if (!session || !feature) {
      done(null, null);
      return;
    }
    session.features.add(feature);
    done(null, { ...sub, qos: Math.min(sub.qos, 1) as 0 | 1 });
    if (feature === 'c2d') this.flushCloudToDevice(session);
    this.changes.emit('change');
  }

  private flushCloudToDevice(session: Session): void {
    const queued = session.c2dQueue.splice(0);
    // After the SUBACK has been written.
    setImmediate(() => {
      for (const packet of queued) session.client?.publish(packet, ignoreDeliveryError);
    });
  }

  private onPublish(
    client: Client | null,
    packet: PublishPacket,
    done: (error?: Error | null) => void,
  ): void {
    const session = client ? this.sessionOf.get(client) : undefined;
    if (!session) {
      done(new Error('publish from an unauthenticated connection'));
      return;
    }
    const handle = () => {
      try {
        this.route(session, packet);
        this.options.identities.touch(session.deviceId, session.moduleId);
        done(null);
      } catch (e) {
        // IoT Hub closes the connection of a device that publishes where it may not.
        done(e instanceof Error ? e : new Error(String(e)));
      }
    };
    const delay = this.options.ackDelayMs();
    if (delay > 0) setTimeout(handle, delay);
    else handle();
  }

  private route(session: Session, packet: PublishPacket): void {
    const topic = packet.topic;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const publish = classifyPublish(topic);
    switch (publish.kind) {
      case 'event':
        if (publish.deviceId !== session.deviceId || publish.moduleId !== session.moduleId) {
          throw new Error(`'${session.clientId}' may not send events as '${topic}'`);
        }
        if (payload.length > MAX_MESSAGE_BYTES) {
          throw new Error(`message of ${payload.length} bytes is over IoT Hub's ${MAX_MESSAGE_BYTES}`);
        }
        this.captureEvent(session, topic, publish.propertyBag, payload);
        return;
      case 'twinGet':
        this.answerTwin(session, publish.rid, () => ({
          status: 200,
          body: mqttTwinDocument(this.twin(session)),
        }));
        return;
      case 'reportedPatch':
        this.answerTwin(session, publish.rid, () => {
          const version = this.options.twins.patchReported(this.twin(session), parseJson(payload));
          return { status: 204, body: undefined, version };
        });
        return;
      case 'methodResponse':
        this.methods.respond(session.clientId, publish.rid, publish.status, payload);
        return;
      case 'unknown':
        throw new Error(`'${session.clientId}' published on '${topic}', which IoT Hub does not accept`);
    }
  }

  private captureEvent(session: Session, topic: string, bag: string, body: Buffer): void {
    const { app, system } = parsePropertyBag(bag);
    this.options.telemetry.add({
      deviceId: session.deviceId,
      moduleId: session.moduleId,
      topic,
      body,
      appProperties: app,
      systemProperties: {
        ...system,
        connectionDeviceId: session.deviceId,
        ...(session.moduleId === undefined ? {} : { connectionModuleId: session.moduleId }),
        enqueuedTime: this.options.now().toISOString(),
      },
    });
  }

  private twin(session: Session): Twin {
    return this.options.twins.require(session.deviceId, session.moduleId);
  }

  private answerTwin(
    session: Session,
    rid: string,
    work: () => { status: number; body: unknown; version?: number },
  ): void {
    let status: number;
    let body: unknown;
    let version: number | undefined;
    try {
      ({ status, body, version } = work());
    } catch (e) {
      if (!isHubError(e)) throw e;
      status = (e as HubError).httpStatus;
      body = mqttErrorBody(e, this.options.now());
    }
    if (!session.features.has('twinResponses')) return;
    this.send(
      session,
      twinResponseTopic(status, rid, version),
      body === undefined ? '' : JSON.stringify(body),
      0,
    );
  }

  private send(session: Session, topic: string, payload: string, qos: 0 | 1): void {
    session.client?.publish(
      { cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false },
      ignoreDeliveryError,
    );
  }

  private methodTarget(deviceId: string, moduleId: string | undefined) {
    for (const session of this.sessions.values()) {
      if (session.deviceId !== deviceId || session.moduleId !== moduleId) continue;
      if (!session.client || !session.features.has('methods')) continue;
      return {
        clientId: session.clientId,
        publish: (topic: string, payload: string) => this.send(session, topic, payload, 0),
      };
    }
    return undefined;
  }

  private record(clientId: string, returnCode: number, reason: string): void {
    this.attempts.push({
      clientId,
      accepted: returnCode === 0,
      returnCode,
      reason,
      at: this.options.now().toISOString(),
    });
  }
}

/** A write to a connection that has just dropped: the device's retry (or the call's timeout) covers it. */
function ignoreDeliveryError(): void {}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    // Not JSON: the twin layer answers 400 for anything that is not an object.
    return undefined;
  }
}
