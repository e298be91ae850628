import { ModelportError, type ModelportErrorOptions } from '../../common/errors.js';

/**
 * An error that ends a scoring request. `httpStatus` < 500 means the client sent something wrong;
 * the body is `{"error": {"code", "message"}, "message"}` (the second field for Azure ML clients).
 */
export class ScoringError extends ModelportError {
  constructor(httpStatus: number, code: string, message: string, options: ModelportErrorOptions = {}) {
    super(code, message, { ...options, httpStatus, exitCode: httpStatus < 500 ? 2 : 1 });
  }
}

export const badInput = (code: string, message: string, details?: Record<string, unknown>) =>
  new ScoringError(400, code, message, details ? { details } : {});

export const notFound = (code: string, message: string) => new ScoringError(404, code, message);
