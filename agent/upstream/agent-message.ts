/** The agent's own messages to IoT Hub (telemetry, module metrics, alerts), built the one way. */
import { randomUUID } from 'node:crypto';
import { DEFAULT_STORE_AND_FORWARD_TTL_SECS } from '../../manifests/types.js';
import { type OutboxMessage, UPSTREAM_ENDPOINT } from './message.js';

/** The `type` application property of every upstream message. */
export type MessageType = 'telemetry' | 'module-metrics' | 'collect' | 'alert';

export const AGENT_SOURCE = '$agent';

export interface AgentMessageOptions {
  type: MessageType;
  body: unknown;
  /** The module the figures are about (default `$agent`). */
  module?: string;
  /** 0 first … 9; default: alerts 0, everything else 5. */
  priority?: number;
  /** Default: the store-and-forward TTL (2 h). */
  timeToLiveSecs?: number;
  messageId?: string;
}

export function agentMessage(options: AgentMessageOptions): OutboxMessage {
  return {
    endpoint: UPSTREAM_ENDPOINT,
    messageId: options.messageId ?? randomUUID(),
    priority: options.priority ?? (options.type === 'alert' ? 0 : 5),
    timeToLiveSecs: options.timeToLiveSecs ?? DEFAULT_STORE_AND_FORWARD_TTL_SECS,
    body: Buffer.from(JSON.stringify(options.body), 'utf8'),
    appProperties: { type: options.type, module: options.module ?? AGENT_SOURCE },
    systemProperties: { contentType: 'application/json', contentEncoding: 'utf-8' },
    source: AGENT_SOURCE,
    route: AGENT_SOURCE,
  };
}
