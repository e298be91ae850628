/**
 * Errors are values with a code and an actionable message. The CLI maps them to exit codes
 * (cloud/cli/exit-codes.ts), the servers to an HTTP status and a JSON body.
 */
export interface ModelportErrorOptions {
  /** What the user can do about it, printed after the message. */
  hint?: string;
  /** Process exit code when this error ends a CLI command (default 1). */
  exitCode?: number;
  /** HTTP status when this error ends a request (default 500). */
  httpStatus?: number;
  cause?: unknown;
  /** Extra machine-readable facts (e.g. the JSON path of a manifest error). */
  details?: Record<string, unknown>;
}

export class ModelportError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: number;
  readonly httpStatus: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: ModelportErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
    this.httpStatus = options.httpStatus ?? 500;
    this.details = options.details;
  }
}

/** Bad arguments or bad input data supplied by the caller (exit 2, HTTP 400). */
export class UsageError extends ModelportError {
  constructor(code: string, message: string, options: ModelportErrorOptions = {}) {
    super(code, message, { exitCode: 2, httpStatus: 400, ...options });
  }
}

/** Something named by the caller does not exist (exit 3, HTTP 404). */
export class NotFoundError extends ModelportError {
  constructor(code: string, message: string, options: ModelportErrorOptions = {}) {
    super(code, message, { exitCode: 3, httpStatus: 404, ...options });
  }
}

/** The request conflicts with stored state (exit 4, HTTP 409). */
export class ConflictError extends ModelportError {
  constructor(code: string, message: string, options: ModelportErrorOptions = {}) {
    super(code, message, { exitCode: 4, httpStatus: 409, ...options });
  }
}

/** An external dependency (Docker, a registry, IoT Hub) could not be reached or refused us (exit 5, HTTP 503). */
export class UnavailableError extends ModelportError {
  constructor(code: string, message: string, options: ModelportErrorOptions = {}) {
    super(code, message, { exitCode: 5, httpStatus: 503, ...options });
  }
}

export function isModelportError(e: unknown): e is ModelportError {
  return e instanceof ModelportError;
}

export function isErrnoException(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string';
}

export function isENOENT(e: unknown): boolean {
  return isErrnoException(e) && e.code === 'ENOENT';
}

/** The message of anything thrown, for logs and wrapped errors. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
