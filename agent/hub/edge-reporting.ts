/**
 * Where the local hub's state becomes visible, refreshed every `intervalMs` and at stop:
 * - `<home>/edgehub-reported.json`: the `$edgeHub` reported properties (route status, clients,
 *   store-and-forward drops), always; and the `$edgeHub` module twin, while a twin sink is attached
 *   (only the difference from what the twin holds is sent, one patch at a time);
 * - `<home>/metrics.json`: a snapshot of every counter of the hub, outbox and upstream sender,
 *   written only when a counter changed and then at most every `snapshotMinIntervalMs` (default
 *   30 s; and at stop): a gateway's flash should not be rewritten every pass for nothing.
 * Both files are replaced atomically (write, then rename), so a reader never sees half a document.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JsonObject } from '../report/merge-patch.js';
import { Reporter } from '../report/reporter.js';
import type { EdgeServices } from './edge-services.js';
import type { HubEvents } from './events.js';

export const EDGEHUB_REPORTED_FILE = 'edgehub-reported.json';
export const METRICS_SNAPSHOT_FILE = 'metrics.json';

export interface EdgeReportingOptions {
  home: string;
  services: Pick<EdgeServices, 'edgeHubReported' | 'metrics'>;
  intervalMs: number;
  /** Least time between two writes of metrics.json (default 30 s); unchanged figures are never written. */
  snapshotMinIntervalMs?: number;
  events: Pick<HubEvents, 'reportSent' | 'reportFailed' | 'snapshotFailed'>;
  now?: () => number;
}

export interface EdgeReporting {
  /** Sends `$edgeHub` reported properties to a twin from now on; `baseline` is what the twin holds. */
  attachTwin(send: (patch: JsonObject) => Promise<void>, baseline: Record<string, unknown>): void;
  detachTwin(): void;
  /** Writes both documents now if they changed (metrics.json: not within its min interval); resolves when done. */
  refresh(): Promise<void>;
  /** Stops the timer after a last refresh. */
  stop(): Promise<void>;
}

export const DEFAULT_SNAPSHOT_MIN_INTERVAL_MS = 30_000;

/** A reported-properties update not acknowledged by then counts as failed (the next one carries it). */
const TWIN_SEND_TIMEOUT_MS = 60_000;

function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the twin did not acknowledge within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

async function writeAtomically(path: string, doc: unknown): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(doc, null, 2)}\n`);
  await rename(tmp, path);
}

export function startEdgeReporting(options: EdgeReportingOptions): EdgeReporting {
  const { events, services } = options;
  const now = options.now ?? Date.now;
  const reportedPath = join(options.home, EDGEHUB_REPORTED_FILE);
  const metricsPath = join(options.home, METRICS_SNAPSHOT_FILE);
  const eventsFor = (target: string) => ({
    reportSent: (keys: string[], bytes: number) => events.reportSent(target, keys, bytes),
    reportFailed: (err: unknown) => events.reportFailed(target, err),
  });
  const file = new Reporter(
    { send: (_patch, full) => writeAtomically(reportedPath, full) },
    eventsFor('file'),
  );
  let twin: Reporter | undefined;
  let running: Promise<void> | undefined;
  const minSnapshotMs = options.snapshotMinIntervalMs ?? DEFAULT_SNAPSHOT_MIN_INTERVAL_MS;
  let lastSnapshot: string | undefined;
  let lastSnapshotAt = Number.NEGATIVE_INFINITY;

  const writeSnapshot = async (final: boolean) => {
    const metrics = services.metrics();
    const content = JSON.stringify(metrics);
    const at = now();
    if (content === lastSnapshot || (!final && at - lastSnapshotAt < minSnapshotMs)) return;
    try {
      await writeAtomically(metricsPath, { time: new Date(at).toISOString(), ...metrics });
      lastSnapshot = content;
      lastSnapshotAt = at;
    } catch (e) {
      events.snapshotFailed(metricsPath, e);
    }
  };

  const refreshOnce = async (final: boolean) => {
    const doc = services.edgeHubReported();
    // The twin is not waited for: its reporter sends one patch at a time, and a connection that
    // drops mid-send must not hold up the files (or stop()).
    void twin?.report(doc);
    await Promise.all([file.report(doc), writeSnapshot(final)]);
  };
  // One refresh at a time; a call while one runs waits for it (the next tick catches up).
  const refresh = (final = false) => {
    running ??= refreshOnce(final).finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => void refresh(), Math.max(250, options.intervalMs));
  timer.unref();
  void refresh();

  return {
    attachTwin: (send, baseline) => {
      // A fresh reporter per connection: a send lost with the previous connection may never settle.
      twin = new Reporter(
        { send: (patch) => withTimeout(send(patch), TWIN_SEND_TIMEOUT_MS) },
        eventsFor('twin'),
      );
      twin.setBaseline(baseline);
      void twin.report(services.edgeHubReported());
    },
    detachTwin: () => {
      twin = undefined;
    },
    refresh: () => refresh(),
    stop: async () => {
      clearInterval(timer);
      await running;
      await refresh(true);
    },
  };
}
