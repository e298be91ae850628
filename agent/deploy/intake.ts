/**
 * A desired document as received → a deployment the agent can apply, or the reason it cannot
 * (ConfigFormatError, InvalidSchemaVersion, ConfigEmptyError). Accepts every shape manifests/
 * parseDeployment accepts: a whole deployment, an IoT Hub configuration, or the `$edgeAgent`
 * desired properties as a twin delivers them.
 */
import { ModelportError } from '../../common/errors.js';
// manifests/parse.js rather than the index: the agent does not need the JSON-schema validators (ajv, ~15 MB).
import { parseDeployment } from '../../manifests/parse.js';
import type { EdgeAgentDesired, EdgeHubDesired, ModuleTwinDesired } from '../../manifests/types.js';
import { CONFIG_EMPTY, CONFIG_NOT_JSON } from '../report/status.js';

export interface AppliedDeployment {
  edgeAgent: EdgeAgentDesired;
  /** Present when the document carried `$edgeHub` too (manifest files, configurations). */
  edgeHub?: EdgeHubDesired;
  moduleTwins: Record<string, ModuleTwinDesired>;
}

const TWIN_METADATA = new Set(['$version', '$metadata']);

/** Parses and checks a desired document; throws ModelportError / ManifestError when it is unusable. */
export function interpretDesired(body: string): AppliedDeployment {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (cause) {
    throw new ModelportError(
      CONFIG_NOT_JSON,
      `the desired deployment is not JSON: ${(cause as Error).message}`,
      {
        exitCode: 2,
        cause,
      },
    );
  }
  if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
    const keys = Object.keys(json).filter((k) => !TWIN_METADATA.has(k));
    if (keys.length === 0) {
      throw new ModelportError(CONFIG_EMPTY, 'the desired properties hold no deployment', {
        hint: 'apply a deployment to this device (modelport deploy, or az iot edge set-modules)',
      });
    }
  }
  const parsed = parseDeployment(json);
  return {
    edgeAgent: parsed.edgeAgent,
    ...(parsed.edgeHub && { edgeHub: parsed.edgeHub }),
    moduleTwins: parsed.moduleTwins,
  };
}
