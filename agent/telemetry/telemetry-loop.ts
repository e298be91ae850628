/**
 * Every `--telemetry-interval` seconds (default 60, 0 = off): one `telemetry` message with the
 * device's figures (plus whatever `extra` adds, e.g. outbox and hub metrics), and one
 * `module-metrics` message per managed container with its container figures and, for scoring
 * modules, per-model requests, errors and latency scraped from `/metrics`. All go through the
 * outbox like any other message; a part that fails is reported in the message, not thrown.
 */
import type Docker from 'dockerode';
import { messageOf } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { agentMessage } from '../upstream/agent-message.js';
import type { OutboxApi } from '../upstream/outbox.js';
import { containerFigures, managedContainers } from './container-metrics.js';
import { deviceMetrics } from './device-metrics.js';
import { telemetryEvents } from './events.js';
import type { ModelFigures } from './scoring-figures.js';
import { ratesBetween, scrapeScoringFigures } from './scrape.js';

export const DEFAULT_TELEMETRY_INTERVAL_SECS = 60;

export interface TelemetryOptions {
  /** Seconds between two rounds; 0 turns telemetry off. */
  intervalSecs: number;
  outbox: OutboxApi;
  agentHome: string;
  /** The engine the modules run on; without it only device figures are sent. */
  docker?: Docker;
  agentId?: string;
  /** More figures for the device message (outbox, hub…). */
  extra?: () => Record<string, unknown>;
  log: Logger;
  now?: () => number;
}

export interface Telemetry {
  /** One round now (also what the timer runs). */
  tick(): Promise<void>;
  stop(): void;
}

export function startTelemetry(options: TelemetryOptions): Telemetry {
  const events = telemetryEvents(options.log);
  const now = options.now ?? Date.now;
  const previous = new Map<string, { at: number; figures: ModelFigures }>();
  let dockerRoot: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const enqueue = async (message: ReturnType<typeof agentMessage>) => {
    try {
      await options.outbox.enqueue(message);
    } catch (e) {
      events.notQueued(e);
    }
  };

  const deviceRound = async () => {
    const time = new Date(now()).toISOString();
    if (options.docker && dockerRoot === undefined) {
      dockerRoot = await options.docker
        .info()
        .then((i: { DockerRootDir?: string }) => i.DockerRootDir ?? '')
        .catch(() => '');
    }
    let device: Record<string, unknown>;
    try {
      device = {
        ...(await deviceMetrics({ agentHome: options.agentHome, dockerRoot: dockerRoot || undefined })),
      };
    } catch (e) {
      events.partFailed('device', e);
      device = { error: messageOf(e) };
    }
    await enqueue(
      agentMessage({ type: 'telemetry', body: { kind: 'device', time, ...device, ...options.extra?.() } }),
    );
  };

  const moduleRound = async (docker: Docker) => {
    let modules: Awaited<ReturnType<typeof managedContainers>>;
    try {
      modules = await managedContainers(docker, options.agentId);
    } catch (e) {
      events.partFailed('modules', e);
      return;
    }
    await Promise.all(
      modules.map(async (m) => {
        const time = now();
        const body: Record<string, unknown> = {
          kind: 'module',
          time: new Date(time).toISOString(),
          running: m.running,
        };
        if (m.running) {
          body.container = await containerFigures(docker, m.containerId).catch((e: unknown) => ({
            error: messageOf(e),
          }));
        }
        if (m.metricsUrl) {
          body.scoring = await scrapeScoringFigures(m.metricsUrl)
            .then((models) =>
              models.map((f) => {
                const key = `${m.moduleId}\u0000${f.model}`;
                const before = previous.get(key);
                previous.set(key, { at: time, figures: f });
                return { ...f, ...ratesBetween(before?.figures, f, before ? (time - before.at) / 1000 : 0) };
              }),
            )
            .catch((e: unknown) => ({ error: messageOf(e) }));
        }
        await enqueue(agentMessage({ type: 'module-metrics', module: m.moduleId, body }));
      }),
    );
  };

  const tick = async () => {
    await deviceRound();
    if (options.docker) await moduleRound(options.docker);
  };

  const schedule = () => {
    if (stopped || options.intervalSecs <= 0) return;
    timer = setTimeout(() => {
      tick()
        .catch((e: unknown) => events.partFailed('round', e))
        .finally(schedule);
    }, options.intervalSecs * 1000);
    timer.unref();
  };
  if (options.intervalSecs > 0) events.started(options.intervalSecs);
  schedule();

  return {
    tick,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
