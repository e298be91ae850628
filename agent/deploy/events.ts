import { messageOf } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { ModuleHealth } from '../health/health.js';
import { describeStep } from '../reconcile/plan.js';
import type { Step, StepOf } from '../reconcile/types.js';

/** Named log events of the deployment loop (IoT Edge's nested Events). */
export function deployEvents(log: Logger) {
  return {
    desiredReceived: (version: number, source: string) =>
      log.info(
        { event: 'desired-received', version, source },
        `desired version ${version} received from ${source}`,
      ),
    desiredUnchanged: (version: number) =>
      log.debug({ event: 'desired-unchanged', version }, `desired version ${version} is already known`),
    desiredInvalid: (version: number, code: number, description: string) =>
      log.error(
        { event: 'desired-invalid', version, code, description },
        `desired version ${version} rejected (${code}): ${description}; running modules are left as they are`,
      ),
    deploymentStarted: (version: number, modules: string[], rollbackOf: number | undefined) =>
      log.info(
        { event: 'deployment-started', version, modules, rollbackOf },
        rollbackOf === undefined
          ? `applying desired version ${version} (${modules.length} modules)`
          : `rolling back to version ${version} after version ${rollbackOf} failed`,
      ),
    deploymentResumed: (version: number, phase: string) =>
      log.info(
        { event: 'deployment-resumed', version, phase },
        `resuming desired version ${version} (${phase})`,
      ),
    planCreated: (steps: Step[]) =>
      log.info(
        { event: 'plan-created', steps: steps.map((s) => s.id) },
        `plan: ${steps.map(describeStep).join(', ')}`,
      ),
    stepSucceeded: (step: Step, ms: number) =>
      log.info(
        { event: 'step-succeeded', step: step.id, ...('reason' in step && { reason: step.reason }), ms },
        `${describeStep(step)} done in ${ms} ms`,
      ),
    stepFailed: (step: Step, err: unknown, failures: number, retryInMs: number | undefined) =>
      log.error(
        { event: 'step-failed', step: step.id, failures, retryInMs, err: messageOf(err) },
        `${step.id} failed (${failures}×): ${messageOf(err)}; ${
          retryInMs === undefined ? 'giving up' : `retrying in ${Math.round(retryInMs / 1000)} s`
        }`,
      ),
    moduleRestarted: (step: StepOf<'restart'>, restartCount: number) =>
      log.warn(
        { event: 'module-restarted', module: step.module, reason: step.reason, restartCount },
        `restarted module '${step.module}' (restart ${restartCount}): ${step.reason}`,
      ),
    moduleWaiting: (noop: StepOf<'noop'>) =>
      log.info(
        { event: 'module-waiting', module: noop.module, reason: noop.reason, retryInMs: noop.retryInMs },
        noop.reason === 'backoff'
          ? `module '${noop.module}' scheduled to restart in ${Math.ceil((noop.retryInMs ?? 0) / 1000)} s: ${noop.detail}`
          : `${noop.module ? `module '${noop.module}'` : 'deployment'} waiting (${noop.reason}): ${noop.detail}`,
      ),
    verifying: (version: number, windowMs: number) =>
      log.info(
        { event: 'deployment-verifying', version, windowMs },
        `version ${version} applied; checking module health for up to ${Math.round(windowMs / 1000)} s`,
      ),
    unhealthy: (version: number, verdicts: ModuleHealth[]) =>
      log.debug(
        { event: 'deployment-not-healthy-yet', version, verdicts },
        `version ${version} not healthy yet`,
      ),
    deploymentSucceeded: (version: number) =>
      log.info({ event: 'deployment-succeeded', version }, `version ${version} is running and healthy`),
    deploymentFailed: (version: number, code: number, description: string) =>
      log.error(
        { event: 'deployment-failed', version, code, description },
        `version ${version} failed: ${description}`,
      ),
    passFailed: (err: unknown, retryInMs: number) =>
      log.error(
        { event: 'pass-failed', err: messageOf(err), retryInMs },
        `reconcile pass failed, next in ${retryInMs} ms: ${messageOf(err)}`,
      ),
    reportSent: (keys: string[], bytes: number) =>
      log.debug({ event: 'report-sent', keys, bytes }, `reported properties sent (${bytes} bytes)`),
    reportFailed: (err: unknown) =>
      log.warn({ event: 'report-failed', err: messageOf(err) }, `reporting failed: ${messageOf(err)}`),
  };
}

export type DeployEvents = ReturnType<typeof deployEvents>;
