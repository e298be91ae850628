/**
 * manifests/: the IoT Edge deployment manifest, the one contract between cloud and device.
 * Types (wire and normalized), parsing of every shape a deployment arrives in, validation against the
 * official schema plus semantic checks, createOptions chunking, typed constructors, and the deployment spec.
 */
export * from './build.js';
export * from './create-options.js';
export {
  CONTAINER_CREATE_FIELDS,
  HOST_CONFIG_FIELDS,
  NETWORKING_CONFIG_FIELDS,
} from './docker-create-fields.js';
export {
  dedupeIssues,
  formatIssue,
  formatPath,
  isManifestError,
  ManifestError,
  type ManifestErrorOptions,
  type ManifestIssue,
  type PathSegment,
} from './errors.js';
export { parseDeployment, parseEdgeAgentDesired, parseEdgeHubDesired } from './parse.js';
export * from './schema-validate.js';
export {
  ENV_NAME_PATTERN,
  MODULE_NAME_MAX_LENGTH,
  MODULE_NAME_PATTERN,
  moduleNameProblem,
} from './semantic-checks.js';
export * from './spec.js';
export * from './spec-schema.js';
export * from './twin-limits.js';
export * from './types.js';
export { validateDeployment } from './validate.js';
