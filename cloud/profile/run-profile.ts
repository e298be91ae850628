import { ModelportError } from '../../common/errors.js';
import type { ModelRecord, OnnxSummary } from '../registry/types.js';
import { drive, warmUp } from './load.js';
import { type Recommendation, type RecommendationRule, recommend, type StepResult } from './recommend.js';
import { loadSample, type SampleFacts } from './sample.js';
import type { ProfileTarget, ServerFacts, TargetLimits } from './target.js';

export const DEFAULT_CONCURRENCY = [1, 2, 4, 8] as const;
export const DEFAULT_DURATION_SECONDS = 5;

export interface ProfileOptions {
  model: ModelRecord;
  sampleFile: string;
  /** Connections per step, rising. */
  concurrency: readonly number[];
  durationSeconds: number;
  latencyTargetMs: number;
  limits: TargetLimits;
  /** Starts the server under test (a child process or a container); called only after the sample is checked. */
  startTarget: (limits: TargetLimits) => Promise<{ target: ProfileTarget; warnings: string[] }>;
  onProgress?: (event: ProfileEvent) => void;
  signal?: AbortSignal;
  now?: () => Date;
}

export type ProfileEvent =
  | { kind: 'server-ready'; url: string }
  | { kind: 'step-start'; index: number; total: number; concurrency: number; durationSeconds: number }
  | { kind: 'step-done'; index: number; total: number; step: StepResult };

/** What `modelport model profile --json` prints and `--report` writes as profile.json. */
export interface ProfileDocument {
  model: { name: string; version: number; digest: string };
  /** Azure ML's shape, and a deployment spec's `resources`. */
  recommendation: Recommendation;
  rule: RecommendationRule;
  steps: StepResult[];
  sample: SampleFacts;
  server: ServerFacts & { peakRssBytes: number };
  load: { tool: 'autocannon'; durationSeconds: number; concurrency: number[]; endpoint: '/score' };
  createdAt: string;
}

/**
 * Profiles a model: checks the sample against the model (refusing before anything starts), starts
 * the server, warms it up, drives load at each concurrency while measuring the server's CPU and
 * memory, stops it, and sizes `{cpu, memoryInGB}` from the measurements (recommend.ts).
 */
export async function runProfile(
  options: ProfileOptions,
): Promise<{ document: ProfileDocument; warnings: string[] }> {
  const { model } = options;
  const onnx = model.onnx as OnnxSummary; // the caller refuses non-ONNX models
  const sample = await loadSample(options.sampleFile, { name: model.name, version: model.version, onnx });
  const { target, warnings } = await options.startTarget(options.limits);
  const steps: StepResult[] = [];
  let peakRssBytes = 0;
  try {
    options.onProgress?.({ kind: 'server-ready', url: target.url });
    await warmUp(target.url, sample.bodies);
    const total = options.concurrency.length;
    for (const [index, concurrency] of options.concurrency.entries()) {
      if (options.signal?.aborted) {
        throw new ModelportError('INTERRUPTED', `profiling stopped after ${steps.length} of ${total} steps`, {
          exitCode: 130,
        });
      }
      options.onProgress?.({
        kind: 'step-start',
        index,
        total,
        concurrency,
        durationSeconds: options.durationSeconds,
      });
      const stop = await target.measure();
      const load = await drive(target.url, sample.bodies, concurrency, options.durationSeconds);
      const usage = await stop();
      const step: StepResult = {
        concurrency,
        requests: load.requests,
        throughput: load.throughput,
        latency: load.latency,
        errors: load.errors,
        peakRssBytes: usage.peakRssBytes,
        cpuCores: usage.cpuCores,
      };
      steps.push(step);
      options.onProgress?.({ kind: 'step-done', index, total, step });
    }
    peakRssBytes = Math.max(await target.peakRssBytes(), ...steps.map((s) => s.peakRssBytes));
  } finally {
    await target.stop();
  }
  const failing = steps.filter((s) => s.errors > 0);
  if (failing.length > 0) {
    warnings.push(
      `errors under load at concurrency ${failing.map((s) => `${s.concurrency} (${s.errors})`).join(', ')}: those steps were not used for the recommendation`,
    );
  }
  let sized: ReturnType<typeof recommend>;
  try {
    sized = recommend(steps, { latencyTargetMs: options.latencyTargetMs, peakRssBytes });
  } catch (e) {
    throw new ModelportError('PROFILE_FAILED', `the server failed under load: ${(e as Error).message}`, {
      hint: 'run `modelport serve` with the model and send the sample by hand to see the errors',
      details: { steps },
    });
  }
  if (!sized.rule.latencyTargetMet) {
    warnings.push(
      `no concurrency met the p99 target of ${options.latencyTargetMs} ms; the recommendation is sized at the best throughput instead`,
    );
  }
  return {
    document: {
      model: { name: model.name, version: model.version, digest: model.digest },
      recommendation: sized.recommendation,
      rule: sized.rule,
      steps,
      sample: sample.facts,
      server: { ...target.server, peakRssBytes },
      load: {
        tool: 'autocannon',
        durationSeconds: options.durationSeconds,
        concurrency: [...options.concurrency],
        endpoint: '/score',
      },
      createdAt: (options.now ?? (() => new Date()))().toISOString(),
    },
    warnings,
  };
}
