/**
 * The agent's Prometheus figures, in a Registry of its own (never prom-client's global one): the
 * store-and-forward outbox (queue, lifetime totals, drops by reason, status), the local hub
 * (connected modules, messages in/out, unrouted, refusals), and the agent's own work (modules'
 * runtime status and restart counts, when the last pass ended). Every value is read from the
 * components at scrape time, so nothing here holds state that could drift from theirs.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { AgentFigures } from '../agent.js';
import type { EdgeMetrics } from '../hub/edge-services.js';

export interface AgentMetricsSources {
  /** The edge services' snapshot (hub, outbox, upstream sender); absent without them. */
  edge?: () => EdgeMetrics;
  agent?: () => AgentFigures;
}

const OUTBOX_STATES = ['ok', 'failing', 'unavailable'] as const;
const DROP_REASONS = ['expired', 'evicted', 'rejected'] as const;

/** A counter whose value is a total kept elsewhere (lifetime counts in SQLite, hub counters). */
function mirroredCounter(
  registry: Registry,
  name: string,
  help: string,
  read: (set: (value: number, labels?: Record<string, string>) => void) => void,
  labelNames: string[] = [],
): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read((value, labels) => {
        if (labels) this.inc(labels, Math.max(0, value));
        else this.inc(Math.max(0, value));
      });
    },
  });
}

function gauge(
  registry: Registry,
  name: string,
  help: string,
  read: (set: (value: number, labels?: Record<string, string>) => void) => void,
  labelNames: string[] = [],
): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read((value, labels) => {
        if (labels) this.set(labels, value);
        else this.set(value);
      });
    },
  });
}

export function agentMetricsRegistry(sources: AgentMetricsSources): Registry {
  const registry = new Registry();
  const edge = (read: (m: EdgeMetrics) => void) => {
    const m = sources.edge?.();
    if (m) read(m);
  };
  const p = 'modelport_agent_';

  gauge(registry, `${p}outbox_queued_messages`, 'Messages waiting in the store-and-forward outbox.', (set) =>
    edge((m) => set(m.outbox.queued.count)),
  );
  gauge(registry, `${p}outbox_queued_bytes`, 'Bytes of the messages waiting in the outbox.', (set) =>
    edge((m) => set(m.outbox.queued.bytes)),
  );
  gauge(registry, `${p}outbox_cap_bytes`, "The outbox's disk cap (0 while it is unavailable).", (set) =>
    edge((m) => set(m.outbox.capBytes)),
  );
  gauge(
    registry,
    `${p}outbox_status`,
    'The outbox state: 1 for the current one of ok, failing (commits fail), unavailable (cannot be opened).',
    (set) =>
      edge((m) => {
        for (const s of OUTBOX_STATES) set(m.outbox.status.state === s ? 1 : 0, { status: s });
      }),
    ['status'],
  );
  mirroredCounter(
    registry,
    `${p}outbox_enqueued_messages_total`,
    'Messages committed to the outbox.',
    (set) => edge((m) => set(m.outbox.totals.enqueued)),
  );
  mirroredCounter(
    registry,
    `${p}outbox_sent_messages_total`,
    'Messages acknowledged by their endpoint and deleted.',
    (set) => edge((m) => set(m.outbox.totals.sent)),
  );
  mirroredCounter(
    registry,
    `${p}outbox_dropped_messages_total`,
    'Messages that left the outbox unsent: expired (time to live), evicted (disk cap), rejected (by the endpoint).',
    (set) =>
      edge((m) => {
        for (const r of DROP_REASONS) set(m.outbox.totals[r], { reason: r });
      }),
    ['reason'],
  );
  mirroredCounter(
    registry,
    `${p}outbox_refused_messages_total`,
    'Messages refused before they were stored (too large, malformed), since the agent started.',
    (set) => edge((m) => set(m.outbox.refused)),
  );

  gauge(registry, `${p}hub_connected_modules`, 'Modules connected to the local hub.', (set) =>
    edge((m) => set(m.hub.connectedModules.length)),
  );
  mirroredCounter(
    registry,
    `${p}hub_messages_received_total`,
    'Module messages the local hub received (messages in).',
    (set) => edge((m) => set(m.hub.received)),
  );
  mirroredCounter(
    registry,
    `${p}hub_messages_routed_total`,
    'Module messages a route took (stored in the outbox).',
    (set) => edge((m) => set(m.hub.routed)),
  );
  mirroredCounter(
    registry,
    `${p}hub_messages_unrouted_total`,
    'Module messages no route took: acknowledged and dropped, as edgeHub does.',
    (set) => edge((m) => set(m.hub.unrouted)),
  );
  mirroredCounter(
    registry,
    `${p}hub_publishes_refused_total`,
    'Module messages refused without PUBACK (too large, outbox unavailable, wrong topic).',
    (set) => edge((m) => set(m.hub.publishesRefused)),
  );
  mirroredCounter(
    registry,
    `${p}hub_connections_refused_total`,
    'Module connections refused (unknown module, bad key or token).',
    (set) => edge((m) => set(m.hub.connectsRefused)),
  );
  mirroredCounter(
    registry,
    `${p}messages_delivered_total`,
    'Messages delivered from the outbox (messages out), by endpoint ($upstream or a module input).',
    (set) =>
      edge((m) => {
        for (const s of [...(m.upstream ? [m.upstream] : []), ...m.hub.moduleInputs])
          set(s.delivered, { endpoint: s.endpoint });
      }),
    ['endpoint'],
  );

  gauge(
    registry,
    `${p}module_restarts`,
    'Restarts of each module by the agent (reset with a new deployment).',
    (set) => {
      for (const mod of sources.agent?.().modules ?? []) set(mod.restartCount, { module: mod.name });
    },
    ['module'],
  );
  gauge(
    registry,
    `${p}module_status`,
    "Each module's runtime status (1 for the current one).",
    (set) => {
      for (const mod of sources.agent?.().modules ?? [])
        set(1, { module: mod.name, status: mod.runtimeStatus });
    },
    ['module', 'status'],
  );
  gauge(
    registry,
    `${p}last_pass_timestamp_seconds`,
    'When the last reconcile pass ended (Unix time).',
    (set) => {
      const at = sources.agent?.().lastPassAt;
      if (at !== undefined) set(at / 1000);
    },
  );
  return registry;
}
