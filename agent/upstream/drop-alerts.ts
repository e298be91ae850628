/**
 * Turns messages that left the outbox unsent (expired, evicted, rejected) into `alert` messages
 * upstream, at most one per interval, so no loss is silent. Alerts go first (priority 0).
 */
import { agentMessage } from './agent-message.js';
import type { UpstreamEvents } from './events.js';
import type { DropSummary, OutboxApi } from './outbox.js';

export interface DropAlertOptions {
  outbox: OutboxApi;
  events: UpstreamEvents;
  /** Least time between two alerts (default 10 s). */
  intervalMs?: number;
  timeToLiveSecs?: number;
  now?: () => number;
}

export function startDropAlerts(options: DropAlertOptions): { flush(): Promise<void>; stop(): void } {
  const now = options.now ?? Date.now;
  let pending = new Map<string, DropSummary>();
  let since = now();
  let timer: NodeJS.Timeout | undefined;

  const flush = async () => {
    timer = undefined;
    if (pending.size === 0) return;
    const drops = [...pending.values()];
    const body = {
      kind: 'messages-dropped',
      since: new Date(since).toISOString(),
      until: new Date(now()).toISOString(),
      drops,
    };
    pending = new Map();
    since = now();
    try {
      await options.outbox.enqueue(
        agentMessage({ type: 'alert', body, priority: 0, timeToLiveSecs: options.timeToLiveSecs }),
      );
    } catch (e) {
      options.events.alertFailed(e);
    }
  };

  const unsubscribe = options.outbox.onDropped((summaries) => {
    for (const s of summaries) {
      const key = `${s.reason}|${s.endpoint}|${s.route}|${s.priority}`;
      const acc = pending.get(key);
      if (acc) {
        acc.count += s.count;
        acc.bytes += s.bytes;
      } else pending.set(key, { ...s });
    }
    timer ??= setTimeout(() => void flush(), options.intervalMs ?? 10_000).unref();
  });

  return {
    flush: () => {
      clearTimeout(timer);
      return flush();
    },
    stop: () => {
      clearTimeout(timer);
      unsubscribe();
    },
  };
}
