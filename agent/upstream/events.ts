import { messageOf } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';

export type DropReason = 'expired' | 'evicted' | 'rejected';

/** Named log events of the outbox and its senders (style 12); logic never builds log strings. */
export function upstreamEvents(log: Logger) {
  return {
    outboxOpened: (path: string, count: number, bytes: number, capBytes: number) =>
      log.info(
        { event: 'outbox-opened', path, count, bytes, capBytes },
        `outbox ${path}: ${count} message(s) waiting (${bytes} bytes), cap ${capBytes} bytes`,
      ),
    outboxQuarantined: (path: string, movedTo: string, err: unknown) =>
      log.error(
        { event: 'outbox-quarantined', path, movedTo, err: messageOf(err) },
        `outbox ${path} is corrupt (${messageOf(err)}); moved it to ${movedTo} and started an empty one`,
      ),
    outboxUnavailable: (path: string, err: unknown, retryInMs: number) =>
      log.error(
        { event: 'outbox-unavailable', path, err: messageOf(err), retryInMs },
        `the outbox ${path} cannot be opened (${messageOf(err)}); module messages are refused until it can, retrying in ${retryInMs} ms`,
      ),
    outboxRecovered: (path: string) =>
      log.info(
        { event: 'outbox-recovered', path },
        `the outbox ${path} is open again; messages are accepted`,
      ),
    messagesDropped: (
      reason: DropReason,
      endpoint: string,
      route: string,
      priority: number,
      count: number,
      bytes: number,
    ) =>
      log.warn(
        { event: 'messages-dropped', reason, endpoint, route, priority, count, bytes },
        `${count} message(s) for ${endpoint} (route ${route}, priority ${priority}) ${reason}`,
      ),
    messageRefused: (source: string, messageId: string, code: string, reason: string) =>
      log.warn(
        { event: 'message-refused', source, messageId, code, reason },
        `refused message ${messageId} from ${source}: ${reason}`,
      ),
    writeFailed: (err: unknown, messages: number, willRetryWithEviction: boolean) =>
      log.error(
        { event: 'outbox-write-failed', err: messageOf(err), messages, willRetryWithEviction },
        `outbox commit of ${messages} message(s) failed: ${messageOf(err)}`,
      ),
    writeRecovered: () => log.info({ event: 'outbox-write-recovered' }, 'outbox commits succeed again'),
    senderBackingOff: (endpoint: string, err: unknown, retryInMs: number) =>
      log.warn(
        { event: 'sender-backing-off', endpoint, err: messageOf(err), retryInMs },
        `sending to ${endpoint} failed (${messageOf(err)}); retrying in ${retryInMs} ms`,
      ),
    senderResumed: (endpoint: string) =>
      log.info({ event: 'sender-resumed', endpoint }, `sending to ${endpoint} again`),
    sendRejected: (endpoint: string, messageId: string, err: unknown) =>
      log.error(
        { event: 'send-rejected', endpoint, messageId, err: messageOf(err) },
        `${endpoint} refused message ${messageId} for good (${messageOf(err)}); dropped it`,
      ),
    alertFailed: (err: unknown) =>
      log.error({ event: 'alert-failed', err: messageOf(err) }, `cannot queue an alert: ${messageOf(err)}`),
  };
}

export type UpstreamEvents = ReturnType<typeof upstreamEvents>;
