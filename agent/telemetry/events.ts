import { messageOf } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';

/** Named log events of the telemetry loop (style 12). */
export function telemetryEvents(log: Logger) {
  return {
    started: (intervalSecs: number) =>
      log.info({ event: 'telemetry-started', intervalSecs }, `sending telemetry every ${intervalSecs} s`),
    partFailed: (part: string, err: unknown) =>
      log.warn(
        { event: 'telemetry-part-failed', part, err: messageOf(err) },
        `telemetry: ${part} failed: ${messageOf(err)}`,
      ),
    notQueued: (err: unknown) =>
      log.error(
        { event: 'telemetry-not-queued', err: messageOf(err) },
        `telemetry not queued: ${messageOf(err)}`,
      ),
  };
}

export type TelemetryEvents = ReturnType<typeof telemetryEvents>;
