import type { Command } from 'commander';
import { UsageError } from '../../../common/errors.js';
import { startImageTarget } from '../../profile/image-target.js';
import { startProcessTarget } from '../../profile/process-target.js';
import { profileProgressView } from '../../profile/progress-view.js';
import { DEFAULT_LATENCY_TARGET_MS } from '../../profile/recommend.js';
import { writeReport } from '../../profile/report.js';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_DURATION_SECONDS,
  type ProfileDocument,
  runProfile,
} from '../../profile/run-profile.js';
import { parseModelRef } from '../../registry/model-ref.js';
import type { ModelRecord } from '../../registry/types.js';
import { type CliContext, withRegistry } from '../context.js';
import { formatBytes, table } from '../format.js';
import { type CommandResult, runCommand } from '../run-command.js';

interface Options {
  sample: string;
  concurrency?: string;
  duration?: string;
  latencyTargetMs?: string;
  cpus?: string;
  memory?: string;
  image?: string;
  report?: string;
  json?: boolean;
}

/** `modelport model profile N:V --sample FILE …`: load the model's server, recommend {cpu, memoryInGB}. */
export async function profileModel(
  modelText: string,
  opts: Options,
  ctx: CliContext,
): Promise<CommandResult> {
  const ref = parseModelRef(modelText);
  const concurrency = parseConcurrency(opts.concurrency);
  const durationSeconds =
    opts.duration === undefined ? DEFAULT_DURATION_SECONDS : positive(opts.duration, '--duration');
  const latencyTargetMs =
    opts.latencyTargetMs === undefined
      ? DEFAULT_LATENCY_TARGET_MS
      : positive(opts.latencyTargetMs, '--latency-target-ms');
  const cpus = opts.cpus === undefined ? undefined : positive(opts.cpus, '--cpus');
  const memoryBytes = opts.memory === undefined ? undefined : parseMemory(opts.memory);
  if (memoryBytes !== undefined && opts.image === undefined) {
    throw new UsageError('MEMORY_LIMIT_NEEDS_IMAGE', '--memory limits a container: it needs --image', {
      hint: 'package the model (modelport package) and profile the image with --image REPO:TAG --memory M',
    });
  }
  const model: ModelRecord = await withRegistry(ctx, async (registry) => registry.get(ref));
  if (!model.onnx) {
    throw new UsageError(
      'MODEL_NOT_ONNX',
      `model ${model.name}:${model.version} has no ONNX graph to profile (framework ${model.framework})`,
    );
  }
  const image = opts.image;
  const view = profileProgressView(ctx.stderr, ctx.interactive && !opts.json);
  let outcome: Awaited<ReturnType<typeof runProfile>>;
  try {
    outcome = await runProfile({
      model,
      sampleFile: opts.sample,
      concurrency,
      durationSeconds,
      latencyTargetMs,
      limits: {
        ...(cpus !== undefined ? { cpus } : {}),
        ...(memoryBytes !== undefined ? { memoryBytes } : {}),
      },
      startTarget: (limits) =>
        image === undefined
          ? startProcessTarget(`${model.name}:${model.version}`, limits, ctx.env)
          : startImageTarget(image, limits, ctx.env),
      onProgress: (e) => view.observe(e),
      signal: ctx.shutdownSignal,
    });
  } finally {
    view.stop();
  }
  const { document, warnings } = outcome;
  const report = opts.report === undefined ? undefined : await writeReport(opts.report, document);
  return {
    result: report ? { ...document, report } : document,
    human: humanLines(document, report?.html),
    warnings,
  };
}

function humanLines(doc: ProfileDocument, reportHtml: string | undefined): string[] {
  const where = doc.server.mode === 'image' ? `image ${doc.server.image}` : 'child process';
  return [
    `Profiled ${doc.model.name}:${doc.model.version} (${where}, CPU limit ${doc.server.cpuLimit}; ${doc.steps.length} steps × ${doc.load.durationSeconds} s)`,
    '',
    ...table(
      ['concurrency', 'requests', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'errors', 'cpu cores', 'peak RSS'],
      doc.steps.map((s) => [
        String(s.concurrency),
        String(s.requests),
        s.throughput.toFixed(1),
        s.latency.p50.toFixed(1),
        s.latency.p90.toFixed(1),
        s.latency.p99.toFixed(1),
        String(s.errors),
        s.cpuCores.toFixed(2),
        formatBytes(s.peakRssBytes),
      ]),
    ),
    '',
    `Recommendation: {"cpu": ${doc.recommendation.cpu}, "memoryInGB": ${doc.recommendation.memoryInGB}}`,
    `Rule: ${doc.rule.text}`,
    ...(reportHtml ? [`Report: ${reportHtml}`] : []),
  ];
}

/** `1,2,4,8`: distinct positive integers, profiled in rising order. */
export function parseConcurrency(text: string | undefined): number[] {
  if (text === undefined) return [...DEFAULT_CONCURRENCY];
  const values = text.split(',').map((t) => Number(t.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v <= 0 || v > 1024)) {
    throw new UsageError(
      'CONCURRENCY_INVALID',
      `--concurrency '${text}' must be a comma-separated list of integers 1-1024, e.g. 1,2,4,8`,
    );
  }
  return [...new Set(values)].sort((a, b) => a - b);
}

/** `512m`, `1g`, `1.5g`, `268435456` (bytes), as `docker run --memory` reads them (binary units). */
export function parseMemory(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg]?)i?b?$/i.exec(text.trim());
  const units: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
  const bytes = m ? Math.round(Number(m[1]) * (units[(m[2] ?? '').toLowerCase()] ?? 1)) : Number.NaN;
  if (!Number.isFinite(bytes) || bytes < 6 * 1024 ** 2) {
    throw new UsageError(
      'MEMORY_INVALID',
      `--memory '${text}' is not a memory size of at least 6m (e.g. 512m, 1g)`,
    );
  }
  return bytes;
}

function positive(text: string, option: string): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0)
    throw new UsageError('NUMBER_INVALID', `${option} '${text}' must be a positive number`);
  return v;
}

export function register(model: Command, ctx: CliContext): void {
  model
    .command('profile')
    .description("load the model's server at rising concurrency and recommend {cpu, memoryInGB}")
    .argument('<model>', 'NAME:VERSION (or NAME for the latest)')
    .requiredOption(
      '--sample <file>',
      'a /score request body (JSON), or several as JSON lines (sent round-robin)',
    )
    .option('--concurrency <list>', `connections per step (default ${DEFAULT_CONCURRENCY.join(',')})`)
    .option('--duration <seconds>', `seconds per step (default ${DEFAULT_DURATION_SECONDS})`)
    .option(
      '--latency-target-ms <ms>',
      `p99 latency the sizing must meet (default ${DEFAULT_LATENCY_TARGET_MS})`,
    )
    .option(
      '--cpus <cores>',
      'limit the server: whole cores by affinity for a process, a Docker quota with --image',
    )
    .option('--memory <size>', 'memory limit of the container (with --image), e.g. 512m, 1g')
    .option(
      '--image <repo:tag>',
      'profile the packaged image in a container (needs a Docker engine: DOCKER_HOST)',
    )
    .option('--report <dir>', 'write profile.json and report.html (chart) into DIR')
    .option('--json', 'print one JSON document')
    .action(runCommand(ctx, (opts: Options, c, command) => profileModel(command.args[0] as string, opts, c)));
}
