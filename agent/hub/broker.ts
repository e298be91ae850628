/**
 * The module side of the hub on a real aedes broker: CONNECT checked against module identities,
 * IoT Hub's topics served per module, and nothing carried between modules by the broker itself
 * (every subscription a module may make is to its own topics, which only the hub publishes to).
 *
 * Durability hook: aedes writes a QoS 1 PUBACK only after `authorizePublish` calls back. A module
 * event is routed and committed to the outbox inside that callback, so the PUBACK follows the
 * commit. A refused message (too large, or a failed commit) closes the connection without PUBACK,
 * the only refusal MQTT 3.1.1 has; the SDK sees the send fail.
 */
import type { Duplex } from 'node:stream';
import { Aedes, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes';
import { messageOf } from '../../common/errors.js';
import { checkModuleConnect } from './connect-auth.js';
import type { HubEvents } from './events.js';
import type { ModuleIdentities } from './identities.js';
import type { MethodCalls } from './method-calls.js';
import type { ModuleSessions, ModuleTwins } from './module-state.js';
import { classifyPublish, type Feature, featureOf, twinResponseTopic } from './topics.js';

export interface BrokerDeps {
  deviceId: string;
  hostNames: () => readonly string[];
  identities: ModuleIdentities;
  sessions: ModuleSessions;
  twins: ModuleTwins;
  methods: () => MethodCalls;
  /** Routes and stores a module event; resolves once committed, rejects to refuse it. */
  intake: (moduleId: string, propertyBag: string, payload: Buffer) => Promise<void>;
  events: HubEvents;
  now: () => number;
}

export interface BrokerCounters {
  connectsRefused: number;
  publishesRefused: number;
}

/** Waiting deliveries of QoS 1 packets to persistent sessions, resolved by the module's PUBACK. */
type AckWaiters = Map<string, Array<{ resolve(): void; reject(e: Error): void }>>;

export class ModuleBroker {
  private aedes: Aedes | undefined;
  private readonly clients = new Map<string, Client>();
  private readonly moduleOf = new WeakMap<Client, string>();
  private readonly ackWaiters = new WeakMap<Client, AckWaiters>();
  private readonly listeners = {
    online: new Set<(m: string) => void>(),
    offline: new Set<(m: string) => void>(),
  };
  readonly counters: BrokerCounters = { connectsRefused: 0, publishesRefused: 0 };

  constructor(private readonly deps: BrokerDeps) {}

  async start(): Promise<void> {
    const aedes = await Aedes.createBroker({
      authenticate: (client, username, password, done) => this.authenticate(client, username, password, done),
      authorizePublish: (client, packet, done) => this.onPublish(client, packet, done),
      authorizeSubscribe: (client, sub, done) => this.onSubscribe(client, sub, done),
    });
    aedes.on('clientDisconnect', (client) => this.onDisconnect(client));
    aedes.on('clientError', (client, err) => this.deps.events.clientError(client.id ?? '?', err));
    aedes.on('unsubscribe', (topics, client) => {
      const moduleId = this.moduleOf.get(client);
      if (!moduleId) return;
      for (const t of topics) {
        const f = featureOf(t, this.deps.deviceId, moduleId);
        if (f) this.deps.sessions.delete(moduleId, f);
      }
    });
    aedes.on('ack', (packet, client) => {
      if (packet?.cmd !== 'publish') return;
      const waiters = this.ackWaiters.get(client)?.get(packet.topic);
      waiters?.shift()?.resolve();
    });
    this.aedes = aedes;
  }

  handle(socket: Duplex): void {
    if (!this.aedes) socket.destroy();
    else this.aedes.handle(socket);
  }

  async close(): Promise<void> {
    const aedes = this.aedes;
    this.aedes = undefined;
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
  }

  /** Connected and, when `feature` is given, subscribed to it. */
  isOnline(moduleId: string, feature?: Feature): boolean {
    return this.clients.has(moduleId) && (feature === undefined || this.deps.sessions.has(moduleId, feature));
  }

  connectedModules(): string[] {
    return [...this.clients.keys()].sort();
  }

  onOnline(listener: (moduleId: string) => void): void {
    this.listeners.online.add(listener);
  }

  onOffline(listener: (moduleId: string) => void): void {
    this.listeners.offline.add(listener);
  }

  /** QoS 0 publish to a connected module subscribed to `feature`; false when it is not. */
  send(moduleId: string, feature: Feature, topic: string, payload: string): boolean {
    const client = this.clients.get(moduleId);
    if (!client || !this.deps.sessions.has(moduleId, feature)) return false;
    client.publish(packet(topic, Buffer.from(payload), 0), ignoreDeliveryError);
    return true;
  }

  /**
   * QoS 1 publish; resolves on the module's PUBACK (for a clean session, once written: such a
   * session keeps nothing across a reconnect anyway). Rejects if the module goes away first.
   */
  deliver(moduleId: string, topic: string, payload: Buffer, timeoutMs = 60_000): Promise<void> {
    const client = this.clients.get(moduleId);
    if (!client || !this.deps.sessions.has(moduleId, 'inputs'))
      return Promise.reject(new Error(`module ${moduleId} is not connected for inputs`));
    if (client.clean) {
      return new Promise((resolve, reject) =>
        client.publish(packet(topic, payload, 1), (err) => (err ? reject(err) : resolve())),
      );
    }
    const waiters = this.ackWaiters.get(client) ?? new Map();
    this.ackWaiters.set(client, waiters);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => settle(new Error(`module ${moduleId} did not acknowledge in ${timeoutMs} ms`)),
        timeoutMs,
      );
      const entry = { resolve: () => settle(), reject: (e: Error) => settle(e) };
      const settle = (e?: Error) => {
        clearTimeout(timer);
        const list = waiters.get(topic);
        const i = list?.indexOf(entry) ?? -1;
        if (list && i >= 0) list.splice(i, 1);
        if (list?.length === 0) waiters.delete(topic);
        if (e) reject(e);
        else resolve();
      };
      waiters.set(topic, [...(waiters.get(topic) ?? []), entry]);
      client.publish(packet(topic, payload, 1), (err) => {
        if (err) settle(err);
      });
    });
  }

  private authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    const verdict = checkModuleConnect(client.id, username, password?.toString('utf8'), {
      deviceId: this.deps.deviceId,
      hostNames: this.deps.hostNames(),
      keysOf: (m) => this.deps.identities.get(m),
      nowMs: this.deps.now(),
    });
    if (!verdict.ok) {
      this.counters.connectsRefused += 1;
      this.deps.events.moduleRefused(client.id, verdict.returnCode, verdict.reason);
      done(
        Object.assign(new Error(verdict.reason), { returnCode: verdict.returnCode }) as AuthenticateError,
        false,
      );
      return;
    }
    const { moduleId } = verdict;
    this.moduleOf.set(client, moduleId);
    if (client.clean) this.deps.sessions.clear(moduleId);
    this.clients.set(moduleId, client);
    this.deps.events.moduleConnected(moduleId, client.clean);
    done(null, true);
    // After the CONNACK: a module with a kept session is reachable again for its inputs.
    setImmediate(() => {
      if (this.clients.get(moduleId) === client) for (const l of this.listeners.online) l(moduleId);
    });
  }

  private onDisconnect(client: Client): void {
    const moduleId = this.moduleOf.get(client);
    for (const list of this.ackWaiters.get(client)?.values() ?? [])
      for (const w of [...list]) w.reject(new Error(`module ${moduleId ?? client.id} disconnected`));
    if (!moduleId || this.clients.get(moduleId) !== client) return;
    this.clients.delete(moduleId);
    this.deps.methods().moduleGone(moduleId);
    this.deps.events.moduleDisconnected(moduleId);
    for (const l of this.listeners.offline) l(moduleId);
  }

  private onSubscribe(
    client: Client,
    sub: Subscription,
    done: (error: Error | null, subscription?: Subscription | null) => void,
  ): void {
    const moduleId = this.moduleOf.get(client);
    const feature = moduleId && featureOf(sub.topic, this.deps.deviceId, moduleId);
    if (!moduleId || !feature) {
      done(null, null);
      return;
    }
    this.deps.sessions.add(moduleId, feature);
    done(null, { ...sub, qos: Math.min(sub.qos, 1) as 0 | 1 });
    if (feature === 'inputs')
      setImmediate(() => {
        for (const l of this.listeners.online) l(moduleId);
      });
  }

  private onPublish(client: Client | null, pkt: PublishPacket, done: (error?: Error | null) => void): void {
    const moduleId = client ? this.moduleOf.get(client) : undefined;
    if (!moduleId) {
      done(new Error('publish from an unauthenticated connection'));
      return;
    }
    const payload = Buffer.isBuffer(pkt.payload) ? pkt.payload : Buffer.from(pkt.payload);
    const refuse = (code: string, reason: string) => {
      this.counters.publishesRefused += 1;
      this.deps.events.publishRefused(moduleId, pkt.topic, code, reason);
      done(new Error(reason));
    };
    const what = classifyPublish(pkt.topic);
    switch (what.kind) {
      case 'event':
        if (what.deviceId !== this.deps.deviceId || what.moduleId !== moduleId) {
          refuse(
            'TOPIC_NOT_ALLOWED',
            `module ${moduleId} may not send as '${what.deviceId}/${what.moduleId}'`,
          );
          return;
        }
        this.deps.intake(moduleId, what.propertyBag, payload).then(
          () => done(null),
          (e: unknown) => refuse((e as { code?: string }).code ?? 'REFUSED', messageOf(e)),
        );
        return;
      case 'twinGet':
        this.twinAnswer(moduleId, what.rid, () => ({
          status: 200,
          body: this.deps.twins.document(moduleId),
        }));
        done(null);
        return;
      case 'reportedPatch':
        this.twinAnswer(moduleId, what.rid, () => ({
          status: 204,
          version: this.deps.twins.patchReported(moduleId, parseJson(payload)),
        }));
        done(null);
        return;
      case 'methodResponse':
        this.deps.methods().respond(moduleId, what.rid, what.status, payload);
        done(null);
        return;
      case 'unknown':
        refuse('TOPIC_NOT_ALLOWED', `'${pkt.topic}' is not a topic modules publish on`);
        return;
    }
  }

  private twinAnswer(
    moduleId: string,
    rid: string,
    work: () => { status: number; body?: unknown; version?: number },
  ) {
    let answer: { status: number; body?: unknown; version?: number };
    try {
      answer = work();
    } catch (e) {
      const status = (e as { httpStatus?: number }).httpStatus ?? 500;
      answer = { status, body: { errorCode: status * 1000, message: messageOf(e) } };
    }
    const body = answer.body === undefined ? '' : JSON.stringify(answer.body);
    this.send(moduleId, 'twinResponses', twinResponseTopic(answer.status, rid, answer.version), body);
  }
}

function packet(topic: string, payload: Buffer, qos: 0 | 1): PublishPacket {
  return { cmd: 'publish', topic, payload, qos, retain: false, dup: false };
}

/** A write to a connection that just dropped: the module's retry (or our sender's) covers it. */
function ignoreDeliveryError(): void {}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    // Not JSON: the twin layer answers 400 for anything that is not an object.
    return undefined;
  }
}
