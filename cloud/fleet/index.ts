/**
 * cloud/fleet: IoT Edge deployments through IoT Hub (azure-iothub): at-scale and layered deployments
 * (IoT Hub configurations) with their metrics, and a manifest applied to a single device.
 */
export { DEFAULT_HUB_TIMEOUT_MS, type HubConnection, parseHubConnectionString } from './connection-string.js';
export {
  checkDeploymentId,
  checkDeploymentRequest,
  DEPLOYMENT_ID_PATTERN,
  type DeploymentRequest,
  LABEL_PATTERN,
} from './deployment-request.js';
export {
  applyDeployment,
  type DeploymentMetrics,
  type DeploymentOutcome,
  type DeploymentSummary,
  deleteDeployment,
  deployToDevice,
  isLayered,
  listDeployments,
  showDeployment,
  summarizeDeployment,
} from './deployments.js';
export { HubClient, type HubClientOptions } from './hub-client.js';
export { type HubCallContext, hubErrorOf, toHubError } from './hub-errors.js';
export { DESIRED, type LayeredModulesContent, toLayeredContent } from './layered.js';
export {
  type Condition,
  conditionPaths,
  type MetricQuery,
  parseCondition,
  parseMetricQuery,
  parseTargetCondition,
  QueryTextError,
  queryTextUsageError,
} from './target-condition.js';
