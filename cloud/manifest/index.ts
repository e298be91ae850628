/**
 * cloud/manifest: a deployment spec (what a person writes) plus the model registry → an IoT Edge
 * deployment manifest; and the check of any manifest before it is deployed.
 */
export {
  assertValidManifest,
  checkManifest,
  findModulesContent,
  type ManifestModule,
  type ManifestReport,
  type ManifestShape,
} from './check-manifest.js';
export { type Environment, MASK, maskSecrets, resolveRegistryCredentials } from './credentials.js';
export { checkDockerOptionValues, DOCKER_MIN_MEMORY_BYTES } from './docker-option-values.js';
export { readManifestFile, readSpecFile, writeManifestFile } from './files.js';
export {
  type GeneratedManifest,
  type GeneratedModule,
  type GenerateOptions,
  generateManifest,
} from './generate.js';
export { checkLayeredContent, isLayeredContent, type LayeredModule, WHOLE_DESIRED } from './layered-check.js';
export {
  type ImageFacts,
  type ManifestLookups,
  type ModelFacts,
  memoryLookups,
  registryLookups,
} from './lookups.js';
export {
  AZUREML_MODELS_ROOT,
  modelEnv,
  moduleTwinDesired,
  onHostNetwork,
  SCORING_PORT,
  START_FIRST,
  scoringPorts,
  startFirstMarking,
  TWIN_FILES_BUDGET_BYTES,
  UPDATE_LABEL,
} from './model-module.js';
export {
  BYTES_PER_GB,
  generatedCreateOptions,
  mergeCreateOptions,
  NANO_CPUS_PER_CPU,
} from './module-create-options.js';
