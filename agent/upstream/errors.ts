/** Typed errors of the store-and-forward outbox (style 11): a code, an actionable message, a guard. */
import { ModelportError, type ModelportErrorOptions, UsageError } from '../../common/errors.js';

export type OutboxErrorCode =
  /** A message over IoT Hub's 256 KB limit (body + properties): refused, never stored. */
  | 'OUTBOX_MESSAGE_TOO_LARGE'
  /** A message the outbox cannot store (bad priority, empty message id…). */
  | 'OUTBOX_INVALID_MESSAGE'
  /** The outbox file is not a SQLite database (or is damaged). */
  | 'OUTBOX_CORRUPT'
  /** The outbox file or its folder cannot be opened or created. */
  | 'OUTBOX_UNAVAILABLE'
  /** A write (the commit that precedes an acknowledgement) failed: disk full, I/O error, read-only. */
  | 'OUTBOX_WRITE_FAILED'
  /** The outbox was closed before the message was committed. */
  | 'OUTBOX_CLOSED';

export class OutboxError extends ModelportError {
  declare readonly code: OutboxErrorCode;
  constructor(code: OutboxErrorCode, message: string, options: ModelportErrorOptions = {}) {
    super(code, message, { exitCode: 5, httpStatus: 503, ...options });
  }
}

/** A message the producer must change: over the size limit or malformed. Never retried by us. */
export class OutboxRefusal extends UsageError {
  declare readonly code: 'OUTBOX_MESSAGE_TOO_LARGE' | 'OUTBOX_INVALID_MESSAGE';
  constructor(
    code: 'OUTBOX_MESSAGE_TOO_LARGE' | 'OUTBOX_INVALID_MESSAGE',
    message: string,
    options: ModelportErrorOptions = {},
  ) {
    super(code, message, { httpStatus: code === 'OUTBOX_MESSAGE_TOO_LARGE' ? 413 : 400, ...options });
  }
}

export function isOutboxError(e: unknown): e is OutboxError {
  return e instanceof OutboxError;
}

export function isOutboxRefusal(e: unknown): e is OutboxRefusal {
  return e instanceof OutboxRefusal;
}
