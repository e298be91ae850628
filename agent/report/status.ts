/**
 * edgeAgent's deployment status codes (`lastDesiredStatus.code`), as IoT Edge's DeploymentStatusCode
 * defines them, and the one switch that maps an error to a code.
 */

import { isModelportError, messageOf } from '../../common/errors.js';
import { isManifestError } from '../../manifests/errors.js';

export const DeploymentStatusCode = {
  Successful: 200,
  /** The deployment could not be read (not JSON, schema or semantic errors). */
  ConfigFormatError: 400,
  /** The agent is not connected / has not reported (what IoT Hub shows for a silent device). */
  Unknown: 406,
  /** schemaVersion not supported. */
  InvalidSchemaVersion: 412,
  /** No deployment has been received. */
  ConfigEmptyError: 417,
  /** Applying the deployment failed (pull, create, health window → rolled back). */
  Failed: 500,
} as const;

export type DeploymentStatusCode = (typeof DeploymentStatusCode)[keyof typeof DeploymentStatusCode];

export interface DeploymentStatus {
  code: DeploymentStatusCode;
  description: string;
}

/** Error codes of desired documents the agent could not use (agent/deploy/intake.ts throws them). */
export const CONFIG_EMPTY = 'CONFIG_EMPTY';
export const CONFIG_NOT_JSON = 'CONFIG_NOT_JSON';

export function statusFromError(e: unknown): DeploymentStatus {
  const description = messageOf(e);
  if (isManifestError(e)) {
    const schemaVersionOnly = e.issues.length > 0 && e.issues.every((i) => i.path.endsWith('.schemaVersion'));
    return {
      code: schemaVersionOnly
        ? DeploymentStatusCode.InvalidSchemaVersion
        : DeploymentStatusCode.ConfigFormatError,
      description,
    };
  }
  switch (isModelportError(e) ? e.code : '') {
    case CONFIG_EMPTY:
      return { code: DeploymentStatusCode.ConfigEmptyError, description };
    case CONFIG_NOT_JSON:
      return { code: DeploymentStatusCode.ConfigFormatError, description };
    default:
      return { code: DeploymentStatusCode.Failed, description };
  }
}
