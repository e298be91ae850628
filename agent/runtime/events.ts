import { messageOf } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';

/** Named log events of the Docker side (pulls); logic never builds log strings. */
export function runtimeEvents(log: Logger) {
  return {
    pullStarted: (image: string, attempt: number, registry: string | undefined) =>
      log.info({ event: 'pull-started', image, attempt, registry }, `pulling ${image}`),
    pullProgress: (image: string, status: string, currentBytes: number, totalBytes: number) =>
      log.info(
        { event: 'pull-progress', image, status, currentBytes, totalBytes },
        totalBytes > 0
          ? `pulling ${image}: ${Math.round((100 * currentBytes) / totalBytes)}% of ${(totalBytes / 1e6).toFixed(1)} MB`
          : `pulling ${image}: ${status}`,
      ),
    pullRetry: (image: string, attempt: number, err: unknown, retryInMs: number) =>
      log.warn(
        { event: 'pull-retry', image, attempt, retryInMs, err: messageOf(err) },
        `pull of ${image} failed (attempt ${attempt}), retrying in ${retryInMs} ms: ${messageOf(err)}`,
      ),
    pullFinished: (image: string, ms: number) =>
      log.info({ event: 'pull-finished', image, ms }, `pulled ${image} in ${ms} ms`),
    pullFellBackToLocal: (image: string, err: unknown) =>
      log.warn(
        { event: 'pull-fell-back-to-local', image, err: messageOf(err) },
        `cannot pull ${image} (${messageOf(err)}); using the image already on this device`,
      ),
    engineEventsLost: (err: unknown, retryInMs: number) =>
      log.warn(
        { event: 'engine-events-lost', err: messageOf(err), retryInMs },
        `lost the Docker event stream, reconnecting in ${retryInMs} ms`,
      ),
  };
}

export type RuntimeEvents = ReturnType<typeof runtimeEvents>;
