import type { ModelportErrorOptions } from '../../../common/errors.js';
import { UnavailableError } from '../../../common/errors.js';

/** Why the test engine (dockerd, registry, base images) could not be provided. */
export type EngineErrorCode =
  | 'ENGINE_PACKAGE_MISSING'
  | 'ENGINE_BINARY_MISSING'
  | 'ENGINE_START_FAILED'
  | 'ENGINE_UNREACHABLE'
  | 'REGISTRY_START_FAILED'
  | 'REGISTRY_UNREACHABLE'
  | 'BASE_IMAGE_BUILD_FAILED'
  | 'ARM64_UNAVAILABLE'
  | 'COMMAND_FAILED'
  | 'WAIT_TIMEOUT';

/**
 * The harness fails loudly: every reason the engine is missing surfaces as one of these,
 * with the log tail or command output that explains it.
 */
export class EngineHarnessError extends UnavailableError {
  declare readonly code: EngineErrorCode;

  constructor(code: EngineErrorCode, message: string, options: ModelportErrorOptions = {}) {
    super(code, message, options);
  }
}

export function isEngineHarnessError(e: unknown): e is EngineHarnessError {
  return e instanceof EngineHarnessError;
}
