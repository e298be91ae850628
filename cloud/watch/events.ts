/**
 * What `modelport watch` tells its operator, as named events: each is a structured record with a
 * human sentence; the command prints the sentence, or the record as a JSON line under --json.
 * Logic never builds these strings.
 */
import { isModelportError, messageOf } from '../../common/errors.js';
import { describeRolloutStep } from './plan.js';
import type { LeaseHolder } from './target-lock.js';
import type { AppliedTarget } from './targets.js';
import type { GateDecision, PlanNote, RolloutRecord, RolloutStep } from './types.js';

export interface WatchEvent {
  event: string;
  level: 'info' | 'warn' | 'error';
  message: string;
  [field: string]: unknown;
}

export type WatchSink = (event: WatchEvent) => void;

const ref = (m: { name: string; version: number }) => `${m.name}:${m.version}`;

export function watchEvents(sink: WatchSink) {
  const emit = (level: WatchEvent['level'], event: string, message: string, fields: object = {}) =>
    sink({ event, level, message, ...fields });
  return {
    started: (spec: string, target: string, intervalMs: number) =>
      emit(
        'info',
        'watch-started',
        `watching ${spec} for new model versions every ${intervalMs / 1000} s → ${target}`,
        {
          spec,
          target,
          intervalMs,
        },
      ),
    noted: (note: PlanNote) =>
      emit(note.kind === 'kept' ? 'info' : 'warn', `plan-${note.kind}`, note.message, {
        module: note.module,
      }),
    unchanged: (key: string, target: string) =>
      emit('info', 'up-to-date', `${target} holds rollout ${key.slice(0, 12)} already: nothing to deploy`, {
        key,
      }),
    blocked: (notes: readonly PlanNote[]) =>
      emit(
        'warn',
        'blocked',
        `nothing to deploy: ${notes
          .filter((n) => n.kind === 'missing')
          .map((n) => n.message)
          .join('; ')}`,
      ),
    planned: (steps: readonly RolloutStep[]) =>
      emit('info', 'rollout-planned', `rollout: ${steps.map(describeRolloutStep).join(' → ')}`, {
        steps: steps.map((s) => s.id),
      }),
    stepStarted: (step: RolloutStep) =>
      emit('info', 'step-started', `${describeRolloutStep(step)}…`, { step: step.id }),
    stepSucceeded: (step: RolloutStep, ms: number) =>
      emit('info', 'step-succeeded', `${step.id} done in ${(ms / 1000).toFixed(1)} s`, { step: step.id, ms }),
    gateDecided: (d: GateDecision) =>
      emit(
        d.accepted ? 'info' : 'warn',
        d.accepted ? 'gate-accepted' : 'gate-rejected',
        `the gate ${d.accepted ? 'accepted' : 'rejected'} ${ref(d)}: ${d.detail}`,
        { model: ref(d), digest: d.digest, detail: d.detail },
      ),
    deployed: (record: RolloutRecord, applied: AppliedTarget, target: string) =>
      emit(
        'info',
        'deployed',
        `deployed ${record.models.map((m) => `${m.module}: ${ref(m)}`).join(', ')} to ${target}` +
          (applied.deploymentId
            ? ` as ${applied.deploymentId} (priority ${applied.priority}, ${applied.outcome})`
            : '') +
          (applied.removed.length > 0 ? `; removed ${applied.removed.join(', ')}` : ''),
        {
          key: record.key,
          models: record.models.map((m) => ({ module: m.module, model: ref(m) })),
          images: record.images,
          ...(applied.deploymentId && { deploymentId: applied.deploymentId, priority: applied.priority }),
          ...(applied.manifestDigest && { manifestDigest: applied.manifestDigest }),
        },
      ),
    warned: (warning: string) => emit('warn', 'warning', warning),
    targetBusy: (target: string, holder: LeaseHolder) =>
      emit(
        'warn',
        'target-busy',
        `another rollout to ${target} is running (pid ${holder.pid} on ${holder.host}, since ${holder.acquiredAt}): waiting for it to finish`,
        { target, pid: holder.pid, host: holder.host },
      ),
    stepFailed: (stepId: string | undefined, err: unknown) =>
      emit('error', 'step-failed', `${stepId ?? 'reading the spec and registry'} failed: ${messageOf(err)}`, {
        step: stepId,
        code: isModelportError(err) ? err.code : 'INTERNAL',
        err: messageOf(err),
        ...(isModelportError(err) && err.hint && { hint: err.hint }),
      }),
    retryScheduled: (attempt: number, retryInMs: number) =>
      emit(
        'warn',
        'retry-scheduled',
        `attempt ${attempt} failed; nothing was applied; retrying in ${Math.round(retryInMs / 1000)} s`,
        {
          attempt,
          retryInMs,
        },
      ),
    stopped: (rollouts: number) =>
      emit('info', 'watch-stopped', `stopped after ${rollouts} rollout(s)`, { rollouts }),
  };
}

export type WatchEvents = ReturnType<typeof watchEvents>;
