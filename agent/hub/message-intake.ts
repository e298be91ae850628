/**
 * What happens to a module's event between MQTT and the outbox: its property bag is read, the
 * routes pick endpoints, and one copy per endpoint is committed. Upstream copies get the
 * application properties every upstream message carries: `type` (unless the module set one:
 * `collect` for the `collect` output, else `telemetry`), `module` (the producer) and `output`.
 * A message no route matches is acknowledged and dropped, as edgeHub does; it is counted.
 */
import { randomUUID } from 'node:crypto';
import { type OutboxMessage, UPSTREAM_ENDPOINT } from '../upstream/message.js';
import type { OutboxApi } from '../upstream/outbox.js';
import type { HubEvents } from './events.js';
import type { MessageView } from './routes/condition.js';
import { type RouteTable, routeMessage } from './routes/route-table.js';
import { parsePropertyBag } from './topics.js';

export interface IntakeCounters {
  received: number;
  routed: number;
  unrouted: number;
}

export interface IntakeDeps {
  deviceId: string;
  outbox: OutboxApi;
  routes: () => RouteTable;
  events: HubEvents;
  /** Where unrouted messages are noted (rate-limited warnings); default: the events, every one. */
  unrouted?: { record(moduleId: string, outputName: string | undefined): void };
  now: () => number;
}

export function createIntake(deps: IntakeDeps) {
  const counters: IntakeCounters = { received: 0, routed: 0, unrouted: 0 };

  const intake = async (moduleId: string, propertyBag: string, payload: Buffer): Promise<void> => {
    counters.received += 1;
    const bag = parsePropertyBag(propertyBag);
    const system = { ...bag.system, connectionDeviceId: deps.deviceId, connectionModuleId: moduleId };
    const output = system.outputName;
    let parsedBody: unknown;
    let bodyRead = false;
    const view: MessageView = {
      app: bag.app,
      system: { ...system, messageId: bag.messageId, enqueuedTime: new Date(deps.now()).toISOString() },
      body: () => {
        if (!bodyRead) {
          bodyRead = true;
          parsedBody = jsonBody(payload, system.contentType, system.contentEncoding);
        }
        return parsedBody;
      },
    };
    const targets = routeMessage(deps.routes(), { moduleId, outputName: output }, view);
    if (targets.length === 0) {
      counters.unrouted += 1;
      if (deps.unrouted) deps.unrouted.record(moduleId, output);
      else deps.events.messageUnrouted(moduleId, output, deps.routes().routes.length);
      return;
    }
    const messageId = bag.messageId || randomUUID();
    const upstreamApp = {
      ...bag.app,
      type: bag.app.type ?? (output === 'collect' ? 'collect' : 'telemetry'),
      module: moduleId,
      ...(output !== undefined && { output }),
    };
    const messages: OutboxMessage[] = targets.map((t) => ({
      endpoint: t.endpoint,
      messageId,
      priority: t.priority,
      timeToLiveSecs: t.timeToLiveSecs,
      body: payload,
      appProperties: t.endpoint === UPSTREAM_ENDPOINT ? upstreamApp : bag.app,
      systemProperties: system,
      source: moduleId,
      route: t.route,
    }));
    await deps.outbox.enqueue(messages);
    counters.routed += 1;
  };

  return { intake, counters };
}

/** The body as JSON when it says it is JSON (or says nothing and parses), for `$body` conditions. */
function jsonBody(payload: Buffer, contentType: string | undefined, encoding: string | undefined): unknown {
  if (contentType !== undefined && !/json/i.test(contentType)) return undefined;
  if (encoding !== undefined && !/^utf-?8$/i.test(encoding)) return undefined;
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    // Not JSON after all: `$body` conditions are unknown for this message.
    return undefined;
  }
}
