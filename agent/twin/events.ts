import { messageOf } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';

/** Named log events of the desired-state sources (twin connections, manifest file). */
export function twinEvents(log: Logger) {
  return {
    connected: (label: string) =>
      log.info({ event: 'hub-connected', identity: label }, `${label} connected to IoT Hub`),
    disconnected: (label: string) =>
      log.warn({ event: 'hub-disconnected', identity: label }, `${label} lost its IoT Hub connection`),
    connectFailed: (label: string, err: unknown, retryInMs: number) =>
      log.warn(
        { event: 'hub-connect-failed', identity: label, err: messageOf(err), retryInMs },
        `${label} cannot connect to IoT Hub (${messageOf(err)}); retrying in ~${Math.round(retryInMs / 1000)} s`,
      ),
    clientError: (label: string, err: unknown) =>
      log.warn(
        { event: 'hub-client-error', identity: label, err: messageOf(err) },
        `${label}: ${messageOf(err)}`,
      ),
    methodResponseFailed: (label: string, method: string, err: unknown) =>
      log.warn(
        { event: 'method-response-failed', identity: label, method, err: messageOf(err) },
        `${label}: could not answer ${method}: ${messageOf(err)}`,
      ),
    desiredIgnored: (label: string, reason: string) =>
      log.warn(
        { event: 'desired-ignored', identity: label, reason },
        `${label} desired properties ignored: ${reason}`,
      ),
    manifestRead: (path: string, bytes: number) =>
      log.info({ event: 'manifest-read', path, bytes }, `read manifest ${path} (${bytes} bytes)`),
    manifestUnreadable: (path: string, err: unknown) =>
      log.warn(
        { event: 'manifest-unreadable', path, err: messageOf(err) },
        `cannot read manifest ${path}: ${messageOf(err)}; keeping the current deployment`,
      ),
  };
}

export type TwinEvents = ReturnType<typeof twinEvents>;
