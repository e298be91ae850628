/**
 * What azure-iothub rejects with, turned into ModelportErrors with actionable messages. The SDK gives
 * HTTP failures as errors carrying `response.statusCode` and the hub's `responseBody`
 * (`{"Message": "ErrorCode:<code>;<text>", …}`), and network failures as Node errors with a `code`.
 */
import {
  ConflictError,
  isModelportError,
  ModelportError,
  NotFoundError,
  UnavailableError,
  UsageError,
} from '../../common/errors.js';

export interface HubCallContext {
  /** `myhub.azure-devices.net` (with a port when the connection string names one). */
  hostName: string;
  policyName: string;
  /** What was being done, for messages: `create deployment 'canary'`. */
  operation: string;
}

interface SdkHttpError {
  response?: { statusCode?: number };
  responseBody?: unknown;
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'name lookup failed',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed',
  ECONNABORTED: 'connection aborted',
};

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
]);

/** The hub's error code and text from an error body, e.g. `{code: 'ConfigurationNotFound', text: '…'}`. */
export function hubErrorOf(body: unknown): { code?: string; text: string } {
  if (typeof body !== 'string' || body === '') return { text: '' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // Not JSON (a proxy's HTML page, say): show it as text.
    return { text: body.slice(0, 200) };
  }
  const record = (parsed ?? {}) as Record<string, unknown>;
  const message = record['Message'] ?? record['message'];
  if (typeof message !== 'string') return { text: body.slice(0, 200) };
  const m = /^ErrorCode:([^;]*);([\s\S]*)$/.exec(message);
  return m ? { code: m[1], text: (m[2] ?? '').trim() } : { text: message };
}

export function statusOf(err: unknown): number | undefined {
  const status = (err as SdkHttpError | undefined)?.response?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Turns anything an azure-iothub call rejected with into a ModelportError (exit codes: common/errors.ts). */
export function toHubError(err: unknown, ctx: HubCallContext): ModelportError {
  if (isModelportError(err)) return err;
  const status = statusOf(err);
  const { code, text } = hubErrorOf((err as SdkHttpError | undefined)?.responseBody);
  const said = text ? `: ${text}` : '';
  const hub = `IoT Hub ${ctx.hostName}`;
  const details = { hubStatus: status, ...(code && { hubCode: code }) };
  if (status !== undefined) {
    switch (true) {
      case status === 400:
        return new UsageError('HUB_BAD_REQUEST', `${hub} refused to ${ctx.operation}${said}`, { details });
      case status === 401 && /lacks|permission/i.test(text):
        return new UnavailableError(
          'HUB_FORBIDDEN',
          `${hub} does not let policy '${ctx.policyName}' ${ctx.operation} (401 Unauthorized)${said}`,
          {
            hint: 'deployments need a policy with RegistryRead and RegistryWrite (iothubowner or registryReadWrite)',
            details,
          },
        );
      case status === 401:
        return new UnavailableError(
          'HUB_UNAUTHORIZED',
          `${hub} refused the key of shared access policy '${ctx.policyName}' (401 Unauthorized)${said}`,
          {
            hint: 'check SharedAccessKeyName and SharedAccessKey in the connection string (az iot hub connection-string show)',
            details,
          },
        );
      case status === 403:
        return new UnavailableError(
          'HUB_FORBIDDEN',
          `${hub} does not let policy '${ctx.policyName}' ${ctx.operation} (403 Forbidden)${said}`,
          {
            hint: 'deployments need a policy with RegistryRead and RegistryWrite (iothubowner or registryReadWrite)',
            details,
          },
        );
      case status === 404:
        return new NotFoundError(
          'HUB_NOT_FOUND',
          `${hub}: not found while trying to ${ctx.operation}${said}`,
          { details },
        );
      case status === 409:
        return new ConflictError(
          'HUB_CONFLICT',
          `${hub} refused to ${ctx.operation}: it already exists${said}`,
          { details },
        );
      case status === 412:
        return new ConflictError(
          'ETAG_MISMATCH',
          `${hub} refused to ${ctx.operation}: it was changed by someone else since it was read (etag mismatch)${said}`,
          { hint: 'read it again (`modelport deployment show`) and repeat the change', details },
        );
      case status === 429:
        return new UnavailableError(
          'HUB_THROTTLED',
          `${hub} is throttling requests; try again shortly${said}`,
          { details },
        );
      default:
        return new UnavailableError(
          'HUB_ERROR',
          `${hub} failed to ${ctx.operation} (HTTP ${status})${said}`,
          { details },
        );
    }
  }
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  if (errno && NETWORK_CODES[errno]) {
    return new UnavailableError(
      'HUB_UNREACHABLE',
      `cannot reach IoT Hub ${ctx.hostName}: ${NETWORK_CODES[errno]} (${errno})`,
      { hint: 'check the HostName in the connection string and the network path to it', cause: err },
    );
  }
  if (errno && (TLS_CODES.has(errno) || errno.startsWith('ERR_TLS') || errno.startsWith('ERR_SSL'))) {
    return new UnavailableError(
      'HUB_TLS_FAILED',
      `cannot open a trusted TLS connection to IoT Hub ${ctx.hostName}: ${(err as Error).message} (${errno})`,
      {
        hint: 'if the hub (or a proxy in front of it) uses a private CA, pass it with --hub-ca FILE',
        cause: err,
      },
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ModelportError(
    'HUB_CALL_FAILED',
    `could not ${ctx.operation} on IoT Hub ${ctx.hostName}: ${message}`,
    {
      cause: err,
    },
  );
}
