/** Typed errors of the local hub (style 11). */
import { ModelportError, type ModelportErrorOptions } from '../../common/errors.js';

export type HubErrorCode =
  | 'HUB_TLS_MATERIAL'
  | 'HUB_LISTEN_FAILED'
  | 'TWIN_PATCH_INVALID'
  | 'MODULE_NOT_CONNECTED'
  | 'METHOD_TIMEOUT'
  | 'METHOD_INVALID';

export class HubError extends ModelportError {
  declare readonly code: HubErrorCode;
  constructor(code: HubErrorCode, message: string, options: ModelportErrorOptions = {}) {
    super(code, message, options);
  }
}

export function isHubError(e: unknown): e is HubError {
  return e instanceof HubError;
}
