/**
 * What flows through the outbox: a message bound for one endpoint (`$upstream`, or a module input),
 * with its priority and time to live fixed when it is stored, as edgeHub snapshots them per route.
 */
import { OutboxRefusal } from './errors.js';

/** IoT Hub's limit for one device-to-cloud message, body and properties together. */
export const IOT_HUB_MAX_MESSAGE_BYTES = 256 * 1024;

/** The endpoint name of IoT Hub itself. */
export const UPSTREAM_ENDPOINT = '$upstream';

/** Routes without a priority come after priority 9, as in edgeHub. */
export const DEFAULT_PRIORITY = 10;
export const MAX_PRIORITY = DEFAULT_PRIORITY;

/** Fixed per-row cost counted against the disk cap on top of body and properties (row header, indexes). */
export const ROW_OVERHEAD_BYTES = 96;

/** IoT Hub system properties a message may carry (names as in the device SDK's Message). */
export interface SystemProperties {
  contentType?: string;
  contentEncoding?: string;
  correlationId?: string;
  userId?: string;
  expiryTimeUtc?: string;
  /** The output a module sent the message on (`$.on`). */
  outputName?: string;
  /** The identity that produced the message (set by the hub, like IoT Hub's connectionModuleId). */
  connectionDeviceId?: string;
  connectionModuleId?: string;
}

export interface OutboxMessage {
  /** `$upstream` or a module input endpoint (`modules/{m}/inputs/{i}`). */
  endpoint: string;
  /** Stable across retries: sent as the IoT Hub message id. */
  messageId: string;
  /** 0 (first) … 9, or DEFAULT_PRIORITY (10) for routes without one. */
  priority: number;
  /** Seconds the message may wait; 0 = no time limit (only the disk cap removes it). */
  timeToLiveSecs: number;
  body: Buffer;
  appProperties: Readonly<Record<string, string>>;
  systemProperties: Readonly<SystemProperties>;
  /** Who produced it: a module name or `$agent`. */
  source: string;
  /** The route that sent it here (`$agent` for the agent's own messages); counters are kept per route. */
  route: string;
}

/** A message as stored: what the outbox hands to an endpoint's sender. */
export interface StoredMessage extends OutboxMessage {
  readonly seq: number;
  readonly enqueuedAt: number;
  /** Epoch ms; Number.MAX_SAFE_INTEGER when it never expires. */
  readonly expiresAt: number;
  readonly sizeBytes: number;
}

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/**
 * The size IoT Hub counts for a device-to-cloud message: the body, plus the values of the system
 * properties, plus names and values of the application properties.
 */
export function iotHubMessageSize(
  body: Buffer,
  appProperties: Readonly<Record<string, string>>,
  systemProperties: Readonly<SystemProperties>,
): number {
  let size = body.length;
  for (const value of Object.values(systemProperties)) if (typeof value === 'string') size += utf8(value);
  for (const [name, value] of Object.entries(appProperties)) size += utf8(name) + utf8(value);
  return size;
}

/** Refuses what can never be sent (too large, malformed) before it is stored. */
export function checkMessage(message: OutboxMessage): number {
  const size = iotHubMessageSize(message.body, message.appProperties, message.systemProperties);
  if (size > IOT_HUB_MAX_MESSAGE_BYTES) {
    throw new OutboxRefusal(
      'OUTBOX_MESSAGE_TOO_LARGE',
      `message ${message.messageId} from '${message.source}' is ${size} bytes (body and properties), over IoT Hub's limit of ${IOT_HUB_MAX_MESSAGE_BYTES} bytes`,
      {
        hint: 'send smaller messages: split the payload, drop fields, or compress it',
        details: { sizeBytes: size, limitBytes: IOT_HUB_MAX_MESSAGE_BYTES, source: message.source },
      },
    );
  }
  if (!Number.isInteger(message.priority) || message.priority < 0 || message.priority > MAX_PRIORITY)
    throw invalid(message, `priority ${message.priority} is not an integer from 0 to ${MAX_PRIORITY}`);
  if (!Number.isFinite(message.timeToLiveSecs) || message.timeToLiveSecs < 0)
    throw invalid(message, `time to live ${message.timeToLiveSecs} is not a number of seconds ≥ 0`);
  if (message.messageId === '') throw invalid(message, 'the message id is empty');
  if (message.endpoint === '') throw invalid(message, 'the endpoint is empty');
  return size;
}

function invalid(message: OutboxMessage, why: string): OutboxRefusal {
  return new OutboxRefusal(
    'OUTBOX_INVALID_MESSAGE',
    `message ${message.messageId} from '${message.source}': ${why}`,
  );
}

/** The endpoint name of a module input, as a BrokeredEndpoint names it. */
export function moduleInputEndpoint(moduleId: string, input: string): string {
  return `modules/${moduleId}/inputs/${input}`;
}

/** The module and input of a module-input endpoint, or undefined for `$upstream` and others. */
export function parseModuleInputEndpoint(endpoint: string): { moduleId: string; input: string } | undefined {
  const match = /^modules\/([^/]+)\/inputs\/([^/]+)$/.exec(endpoint);
  return match ? { moduleId: match[1] as string, input: match[2] as string } : undefined;
}
