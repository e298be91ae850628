/**
 * Device-to-cloud messages as the hub received them, with the application and system properties
 * read from the MQTT topic's property bag, for tests to query and wait on.
 */
import { EmulatorError } from './errors.js';

export interface SystemProperties {
  messageId?: string;
  correlationId?: string;
  userId?: string;
  to?: string;
  expiryTimeUtc?: string;
  contentType?: string;
  contentEncoding?: string;
  /** Set by `ModuleClient.sendOutputEvent(outputName, …)`. */
  outputName?: string;
  interfaceId?: string;
  /** Added by the hub: the identity that sent the message. */
  connectionDeviceId: string;
  connectionModuleId?: string;
  /** Added by the hub: when it accepted the message (ISO 8601). */
  enqueuedTime: string;
}

export interface CapturedMessage {
  /** 1, 2, 3… in arrival order, across restarts. */
  readonly sequence: number;
  readonly deviceId: string;
  readonly moduleId: string | undefined;
  readonly topic: string;
  readonly body: Buffer;
  readonly appProperties: Readonly<Record<string, string>>;
  readonly systemProperties: Readonly<SystemProperties>;
}

export interface MessageFilter {
  deviceId?: string;
  moduleId?: string;
  outputName?: string;
}

export type MessagePredicate = (message: CapturedMessage) => boolean;

const SYSTEM_KEYS: Record<string, keyof SystemProperties> = {
  '$.mid': 'messageId',
  '$.cid': 'correlationId',
  '$.uid': 'userId',
  '$.to': 'to',
  '$.exp': 'expiryTimeUtc',
  '$.ct': 'contentType',
  '$.ce': 'contentEncoding',
  '$.on': 'outputName',
  '$.ifid': 'interfaceId',
};

/** Splits a topic's property bag (`$.mid=1&temp=20`) into application and system properties. */
export function parsePropertyBag(bag: string): {
  app: Record<string, string>;
  system: Partial<SystemProperties>;
} {
  const app: Record<string, string> = {};
  const system: Partial<Record<keyof SystemProperties, string>> = {};
  for (const pair of bag.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    const name = decode(rawKey);
    const value = decode(rawValue);
    const systemName = SYSTEM_KEYS[name];
    if (systemName) system[systemName] = value;
    else app[name] = value;
  }
  return { app, system };
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    // Not valid percent-encoding: keep the text as the device sent it.
    return value;
  }
}

interface Waiter {
  predicate: MessagePredicate;
  count: number;
  resolve(messages: CapturedMessage[]): void;
}

export class TelemetryStore {
  private readonly captured: CapturedMessage[] = [];
  private readonly waiters = new Set<Waiter>();
  private sequence = 0;

  add(message: Omit<CapturedMessage, 'sequence'>): CapturedMessage {
    const stored: CapturedMessage = { ...message, sequence: ++this.sequence };
    this.captured.push(stored);
    for (const waiter of [...this.waiters]) this.check(waiter);
    return stored;
  }

  list(filter: MessageFilter | MessagePredicate = {}): CapturedMessage[] {
    const predicate = typeof filter === 'function' ? filter : filterPredicate(filter);
    return this.captured.filter(predicate);
  }

  clear(): void {
    this.captured.length = 0;
  }

  /** Resolves with the first `count` messages matching `predicate`, or rejects after `timeoutMs`. */
  waitFor(predicate: MessagePredicate, count: number, timeoutMs: number): Promise<CapturedMessage[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const seen = this.captured.filter(predicate).length;
        reject(
          new EmulatorError(
            'HUB_EMULATOR_TIMEOUT',
            `Waited ${timeoutMs} ms for ${count} matching device-to-cloud message(s); ${seen} arrived (${this.captured.length} in all)`,
          ),
        );
      }, timeoutMs);
      const waiter: Waiter = {
        predicate,
        count,
        resolve: (messages) => {
          clearTimeout(timer);
          resolve(messages);
        },
      };
      this.waiters.add(waiter);
      this.check(waiter);
    });
  }

  private check(waiter: Waiter): void {
    const matching = this.captured.filter(waiter.predicate);
    if (matching.length >= waiter.count) {
      this.waiters.delete(waiter);
      waiter.resolve(matching.slice(0, waiter.count));
    }
  }
}

export function filterPredicate(filter: MessageFilter): MessagePredicate {
  return (m) =>
    (filter.deviceId === undefined || m.deviceId === filter.deviceId) &&
    (filter.moduleId === undefined || m.moduleId === filter.moduleId) &&
    (filter.outputName === undefined || m.systemProperties.outputName === filter.outputName);
}
