import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../../common/errors.js';
import { parseFormat } from '../../batch/input-files.js';
import { batchProgressView } from '../../batch/progress-view.js';
import {
  type BatchSummary,
  DEFAULT_BATCH_SIZE,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  EXIT_REJECTS,
  runBatch,
} from '../../batch/run-batch.js';
import { materializeModel } from '../../registry/materialize.js';
import { parseModelRef } from '../../registry/model-ref.js';
import type { ModelRecord } from '../../registry/types.js';
import { type CliContext, modelportHome, withRegistry } from '../context.js';
import { parsePositiveInt } from '../parse-options.js';
import { type CommandResult, runCommand } from '../run-command.js';

/** Exit code of a run stopped by Ctrl-C / SIGTERM (checkpointed; `--resume` continues it). */
export const EXIT_INTERRUPTED = 130;

interface Options {
  model: string;
  input: string;
  output: string;
  format?: string;
  batchSize?: string;
  rejects?: string;
  resume?: boolean;
  overwrite?: boolean;
  checkpointInterval?: string;
  json?: boolean;
}

/** Offline batch scoring: records from files through onnxruntime in this process, to JSON lines. */
export async function batch(opts: Options, ctx: CliContext): Promise<CommandResult> {
  const ref = parseModelRef(opts.model);
  const format = opts.format === undefined ? undefined : parseFormat(opts.format);
  const batchSize = opts.batchSize ? parsePositiveInt(opts.batchSize, '--batch-size') : DEFAULT_BATCH_SIZE;
  const checkpointIntervalMs =
    opts.checkpointInterval === undefined
      ? DEFAULT_CHECKPOINT_INTERVAL_MS
      : parseSeconds(opts.checkpointInterval, '--checkpoint-interval') * 1000;
  const { model, modelFile } = await withRegistry(ctx, async (registry) => {
    const found: ModelRecord = registry.get(ref);
    if (!found.onnx) {
      throw new UsageError(
        'MODEL_NOT_ONNX',
        `model ${found.name}:${found.version} has no ONNX graph to score (framework ${found.framework})`,
      );
    }
    const { dir } = await materializeModel(registry, found, join(modelportHome(ctx.env), 'models'));
    return { model: found, modelFile: join(dir, ...found.onnx.file.split('/')) };
  });
  const view = batchProgressView(ctx.stderr, ctx.interactive && !opts.json);
  let outcome: Awaited<ReturnType<typeof runBatch>>;
  try {
    outcome = await runBatch({
      model,
      modelFile,
      input: opts.input,
      ...(format ? { format } : {}),
      output: opts.output,
      ...(opts.rejects ? { rejects: opts.rejects } : {}),
      batchSize,
      resume: Boolean(opts.resume),
      overwrite: Boolean(opts.overwrite),
      checkpointIntervalMs,
      signal: ctx.shutdownSignal,
      onProgress: (p) => view.update(p),
    });
  } finally {
    view.stop();
  }
  const { summary, warnings } = outcome;
  return {
    result: summary,
    human: humanSummary(summary),
    warnings,
    ...(exitCodeOf(summary) === 0 ? {} : { exitCode: exitCodeOf(summary) }),
  };
}

/** 0: every record scored; 6: finished with rejects; 130: stopped early (resumable). */
export function exitCodeOf(summary: BatchSummary): number {
  if (!summary.complete) return EXIT_INTERRUPTED;
  return summary.rejected > 0 ? EXIT_REJECTS : 0;
}

function humanSummary(s: BatchSummary): string[] {
  const n = (v: number) => v.toLocaleString('en-US');
  const lines = [
    `${s.complete ? 'Scored' : 'Stopped after scoring'} ${n(s.scoredNow)} records, ${n(s.rejectedNow)} rejected, in ${s.seconds.toFixed(1)} s (${n(Math.round(s.recordsPerSecond))} records/s) with ${s.model}`,
  ];
  if (s.resumedAt) {
    lines.push(
      `  resumed after ${s.resumedAt.file ? `${s.resumedAt.file} ` : ''}line ${s.resumedAt.line}; whole run: ${n(s.scored)} scored, ${n(s.rejected)} rejected`,
    );
  }
  lines.push(`  output   ${s.output}`);
  if (s.rejects) {
    lines.push(`  rejects  ${s.rejects}`);
    for (const r of s.firstRejects)
      lines.push(`    ${r.file ? `${r.file} ` : ''}line ${r.line}: ${r.reason}`);
    if (s.rejectedNow > s.firstRejects.length)
      lines.push(`    … ${n(s.rejectedNow - s.firstRejects.length)} more`);
  }
  if (!s.complete) lines.push('Interrupted: run the same command with --resume to continue.');
  return lines;
}

function parseSeconds(text: string, option: string): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v < 0)
    throw new UsageError('NUMBER_INVALID', `${option} '${text}' must be a number of seconds ≥ 0`);
  return v;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('batch')
    .description('score a file or folder of records offline through onnxruntime (JSON lines out, resumable)')
    .requiredOption('--model <name[:version]>', 'registered model to score with')
    .requiredOption(
      '--input <file|folder>',
      'records: .jsonl, .csv or .npy, or a folder of them (name order)',
    )
    .requiredOption('--output <file>', 'JSON lines out: {"line": n, "output": …} per record, in input order')
    .option('--format <format>', 'input format: jsonl, csv or npy (default: from the extension)')
    .option('--batch-size <n>', `records per session.run (default ${DEFAULT_BATCH_SIZE})`)
    .option('--rejects <file>', 'bad records as {"line": n, "reason": …} (default: <output>.rejects.jsonl)')
    .option('--resume', 'continue an interrupted run from its checkpoint (<output>.checkpoint.json)')
    .option('--overwrite', 'replace an existing output instead of refusing')
    .option(
      '--checkpoint-interval <seconds>',
      `least time between checkpoints (default ${DEFAULT_CHECKPOINT_INTERVAL_MS / 1000}; 0 = after every batch)`,
    )
    .option('--json', 'print one JSON document when done')
    .action(runCommand(ctx, batch));
}
