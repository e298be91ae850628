import {
  ModelportError,
  type ModelportErrorOptions,
  messageOf,
  UnavailableError,
} from '../../common/errors.js';

/** A Docker Engine call that failed; `statusCode` is the engine's HTTP status when it answered. */
export class DockerError extends ModelportError {
  readonly statusCode: number | undefined;

  constructor(
    code: string,
    message: string,
    statusCode: number | undefined,
    options: ModelportErrorOptions = {},
  ) {
    super(code, message, options);
    this.statusCode = statusCode;
  }
}

export function isDockerError(e: unknown): e is DockerError {
  return e instanceof DockerError;
}

/** The engine's HTTP status of a dockerode error, if it has one. */
export function statusCodeOf(e: unknown): number | undefined {
  const code = (e as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** The engine's own message (`json.message`) rather than dockerode's "(HTTP code 404) …" prefix. */
export function engineMessage(e: unknown): string {
  const json = (e as { json?: { message?: unknown } } | undefined)?.json;
  if (json && typeof json.message === 'string') return json.message;
  return messageOf(e).replace(/^\(HTTP code \d+\) [a-z ]+ - /, '');
}

/** Wraps a failed engine call: `docker create 'scoring' failed: …`, with hints for the usual causes. */
export function dockerFailure(operation: string, subject: string, e: unknown): ModelportError {
  const status = statusCodeOf(e);
  const message = `docker ${operation} ${subject} failed: ${engineMessage(e)}`;
  const errno = (e as { code?: unknown }).code;
  if (status === undefined && (errno === 'ENOENT' || errno === 'ECONNREFUSED' || errno === 'EACCES')) {
    return new UnavailableError('DOCKER_UNAVAILABLE', message, {
      hint: 'is the Docker engine running, and does DOCKER_HOST (or /var/run/docker.sock) point at it?',
      cause: e,
    });
  }
  const hint =
    status === 409 && operation === 'create'
      ? 'a container with this name exists that modelport-agent did not create: rename or remove it'
      : undefined;
  return new DockerError(`DOCKER_${operation.toUpperCase()}_FAILED`, message, status, {
    cause: e,
    ...(hint && { hint }),
  });
}
