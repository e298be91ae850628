/**
 * Checks of everything a deployment request names, before anything is sent: the id, labels and metric
 * names follow IoT Hub's configuration rules; the target condition and metric queries parse.
 */
import { UsageError } from '../../common/errors.js';
import {
  parseMetricQuery,
  parseTargetCondition,
  QueryTextError,
  queryTextUsageError,
} from './target-condition.js';

/** IoT Hub configuration ids: up to 128 lowercase letters, digits and `- : + % _ # * ? ! ( ) , = @ ; $ '`. */
export const DEPLOYMENT_ID_PATTERN = /^[a-z0-9\-:+%_#*?!(),=@;$']{1,128}$/;
/** Label keys and values, and metric names: up to 128 ASCII letters, digits and `- : . + % _ # * ? ! ( ) , = @ ; '`. */
export const LABEL_PATTERN = /^[A-Za-z0-9\-:.+%_#*?!(),=@;']{1,128}$/;
/** Names IoT Hub uses for a deployment's system metrics. */
const SYSTEM_METRICS = ['targetedCount', 'appliedCount', 'reportedSuccessfulCount', 'reportedFailedCount'];

export interface DeploymentRequest {
  id: string;
  targetCondition: string;
  priority: number;
  /** Replace the labels (undefined: keep the deployment's labels on an update). */
  labels?: Record<string, string>;
  /** Custom metric queries by name (undefined: keep the deployment's on an update). */
  metrics?: Record<string, string>;
  /** Update only if the deployment's etag is still this one (default: the etag just read). */
  etag?: string;
}

export function checkDeploymentId(id: string, option = '--id'): void {
  if (!DEPLOYMENT_ID_PATTERN.test(id)) {
    throw new UsageError(
      'DEPLOYMENT_ID_INVALID',
      `${option} '${id}' is not a deployment id: use up to 128 lowercase letters, digits and - : + % _ # * ? ! ( ) , = @ ; $ '`,
      { hint: 'e.g. scoring-v2' },
    );
  }
}

/** Throws a UsageError naming the option and, for conditions and queries, the position of the mistake. */
export function checkDeploymentRequest(req: DeploymentRequest): void {
  checkDeploymentId(req.id);
  if (!Number.isInteger(req.priority) || req.priority < 0) {
    throw new UsageError('PRIORITY_INVALID', `--priority ${req.priority} must be a non-negative integer`);
  }
  if (req.targetCondition.trim() === '') {
    throw new UsageError(
      'TARGET_CONDITION_INVALID',
      '--target-condition is empty: an empty condition targets no device',
      {
        hint: "select devices by tags, reported properties or deviceId, e.g. tags.environment='prod'",
      },
    );
  }
  try {
    parseTargetCondition(req.targetCondition);
  } catch (e) {
    if (e instanceof QueryTextError) {
      throw queryTextUsageError('TARGET_CONDITION_INVALID', '--target-condition', req.targetCondition, e);
    }
    throw e;
  }
  for (const [key, value] of Object.entries(req.labels ?? {})) {
    if (!LABEL_PATTERN.test(key) || !LABEL_PATTERN.test(value)) {
      throw new UsageError(
        'LABEL_INVALID',
        `--label ${key}=${value}: label keys and values are 1–128 letters, digits and - : . + % _ # * ? ! ( ) , = @ ; '`,
      );
    }
  }
  for (const [name, query] of Object.entries(req.metrics ?? {})) {
    if (!LABEL_PATTERN.test(name) || SYSTEM_METRICS.includes(name)) {
      throw new UsageError(
        'METRIC_INVALID',
        SYSTEM_METRICS.includes(name)
          ? `--metric ${name}: that name is one of IoT Hub's system metrics; choose another`
          : `--metric ${name}: metric names are 1–128 letters, digits and - : . + % _ # * ? ! ( ) , = @ ; '`,
      );
    }
    try {
      parseMetricQuery(query);
    } catch (e) {
      if (e instanceof QueryTextError) {
        const error = queryTextUsageError('METRIC_INVALID', `--metric ${name} query`, query, e);
        throw new UsageError(error.code, error.message, {
          hint: "e.g. --metric 'ok=SELECT deviceId FROM devices.modules WHERE moduleId = '$edgeAgent' AND properties.reported.lastDesiredStatus.code = 200'",
        });
      }
      throw e;
    }
  }
}
