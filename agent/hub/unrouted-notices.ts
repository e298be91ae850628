/**
 * A module message no route takes is acknowledged and dropped, as edgeHub does. That must not pass
 * unnoticed (a hub without routes drops everything), nor flood the log: the first one is logged at
 * warn, then one line a minute with how many more there were and from which modules.
 */
import type { HubEvents } from './events.js';

export interface UnroutedNotices {
  record(moduleId: string, outputName: string | undefined): void;
  /** Logs the count since the last line, if any (the timer calls it every `intervalMs`). */
  flush(): void;
  stop(): void;
}

export function startUnroutedNotices(
  events: Pick<HubEvents, 'messageUnrouted' | 'messagesUnrouted'>,
  routeCount: () => number,
  intervalMs = 60_000,
): UnroutedNotices {
  let warned = false;
  let pending = 0;
  const modules = new Set<string>();
  const flush = () => {
    if (pending === 0) return;
    events.messagesUnrouted(pending, [...modules].sort(), intervalMs, routeCount());
    pending = 0;
    modules.clear();
  };
  const timer = setInterval(flush, intervalMs);
  timer.unref();
  return {
    record: (moduleId, outputName) => {
      if (!warned) {
        warned = true;
        events.messageUnrouted(moduleId, outputName, routeCount());
        return;
      }
      pending += 1;
      modules.add(moduleId);
    },
    flush,
    stop: () => {
      clearInterval(timer);
      flush();
    },
  };
}
