import { stat } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { isENOENT, UsageError } from '../../common/errors.js';
import type { ModelRecord } from '../registry/types.js';
import { StoragePool } from './batch-builder.js';
import { type Checkpoint, checkpointPath, planStart, readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { type BatchFormat, type InputSet, inputFingerprint, resolveInput } from './input-files.js';
import { type InputLayout, layoutFor } from './input-layout.js';
import { outputLines, rejectLines } from './output-lines.js';
import { OutputSink } from './output-sink.js';
import { type RejectRef, readUnits, START, type Unit } from './record-source.js';
import { openSessionScorer, type ScoredBatch, type Scorer } from './scorer.js';

/** Exit code of a run that finished but rejected records (documented in the README). */
export const EXIT_REJECTS = 6;
export const DEFAULT_BATCH_SIZE = 64;
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 2000;
/** Batches handed to the session worker ahead of the one being written: it never waits for parsing. */
const IN_FLIGHT = 3;
const FIRST_REJECTS = 5;

export interface BatchOptions {
  model: ModelRecord;
  /** The model's ONNX file on disk (materialized from the registry). */
  modelFile: string;
  input: string;
  format?: BatchFormat;
  output: string;
  /** Default: `<output without .jsonl>.rejects.jsonl`. */
  rejects?: string;
  batchSize?: number;
  resume?: boolean;
  overwrite?: boolean;
  /** Least time between checkpoints (each flushes the output to disk). */
  checkpointIntervalMs?: number;
  onProgress?: (progress: BatchProgress) => void;
  /** Aborting stops reading; batches already read are written and checkpointed, so --resume continues. */
  signal?: AbortSignal;
  now?: () => number;
  openScorer?: (modelName: string, modelFile: string) => Promise<Scorer>;
}

export interface BatchProgress {
  bytesDone: number;
  /** Bytes already done when this invocation started (a resumed run). */
  bytesAtStart: number;
  totalBytes: number;
  scored: number;
  rejected: number;
  elapsedMs: number;
}

export interface BatchSummary {
  model: string;
  input: string;
  format: BatchFormat;
  files: number;
  output: string;
  /** The rejects file, when there were rejects. */
  rejects: string | null;
  /** Totals over the whole run, earlier attempts included. */
  scored: number;
  rejected: number;
  /** This invocation alone. */
  scoredNow: number;
  rejectedNow: number;
  seconds: number;
  recordsPerSecond: number;
  batchSize: number;
  /** Where this invocation started, when it resumed a checkpointed run. */
  resumedAt: { file?: string; line: number } | null;
  complete: boolean;
  /** The first few rejects of this invocation, for the human summary. */
  firstRejects: RejectRef[];
}

export function defaultRejectsPath(output: string): string {
  const ext = extname(output);
  const stem = ['.jsonl', '.ndjson', '.json'].includes(ext.toLowerCase())
    ? output.slice(0, -ext.length)
    : output;
  return `${stem}.rejects.jsonl`;
}

/**
 * Scores a file or folder of records through the model in batches and writes one output line per
 * record, in input order, checkpointing as it goes (see checkpoint.ts for the exactly-once argument).
 */
export async function runBatch(
  options: BatchOptions,
): Promise<{ summary: BatchSummary; warnings: string[] }> {
  const now = options.now ?? Date.now;
  const started = now();
  const output = resolve(options.output);
  const rejectsPath = resolve(options.rejects ?? defaultRejectsPath(output));
  const checkpointFile = checkpointPath(output);
  const onnx = options.model.onnx;
  if (!onnx) {
    throw new UsageError(
      'MODEL_NOT_ONNX',
      `model ${options.model.name}:${options.model.version} has no ONNX graph to score`,
    );
  }
  const { layout, warnings } = layoutFor(
    { name: options.model.name, inputs: onnx.inputs, outputs: onnx.outputs },
    options.batchSize ?? DEFAULT_BATCH_SIZE,
  );
  const input = await resolveInput(options.input, options.format, [output, rejectsPath, checkpointFile]);
  warnings.push(...input.warnings);
  const set = input.set;
  const fingerprint = inputFingerprint(set, options.model);
  const plan = planStart({
    resume: Boolean(options.resume),
    overwrite: Boolean(options.overwrite),
    fingerprint,
    checkpoint: await readCheckpoint(checkpointFile),
    outputSize: await sizeOf(output),
    rejectsSize: await sizeOf(rejectsPath),
    outputPath: output,
    rejectsPath,
  });
  const base = {
    model: `${options.model.name}:${options.model.version}`,
    input: resolve(options.input),
    format: set.format,
    files: set.files.length,
    output,
    batchSize: layout.batchSize,
  };
  if (plan.kind === 'complete') {
    warnings.push(`${output} is already complete; nothing to do`);
    return { summary: summarize(base, plan.checkpoint, plan.checkpoint, rejectsPath, set, 0, []), warnings };
  }
  const from: Checkpoint =
    plan.kind === 'resume'
      ? plan.checkpoint
      : {
          version: 1,
          fingerprint,
          position: START,
          outputBytes: 0,
          rejectsBytes: 0,
          scored: 0,
          rejected: 0,
          complete: false,
        };
  // The model loads first: a model onnxruntime refuses leaves no output or checkpoint behind.
  const scorer = await (options.openScorer ?? ((name, file) => openSessionScorer(name, file)))(
    options.model.name,
    options.modelFile,
  );
  let sink: OutputSink | undefined;
  let state = from;
  const firstRejects: RejectRef[] = [];
  try {
    // The first checkpoint goes down before the output is truncated: a crash in between leaves a
    // checkpoint at the start, which a resume honours by truncating the output.
    if (plan.kind === 'fresh') await writeCheckpoint(checkpointFile, from);
    sink = OutputSink.open(output, rejectsPath, plan.kind === 'resume' ? from : undefined);
    state = await pump({
      set,
      layout,
      from,
      scorer,
      sink,
      checkpointFile,
      options,
      now,
      started,
      firstRejects,
    });
  } finally {
    sink?.close();
    await scorer.close();
  }
  return {
    summary: summarize(base, from, state, rejectsPath, set, (now() - started) / 1000, firstRejects),
    warnings,
  };
}

interface PumpContext {
  set: InputSet;
  layout: InputLayout;
  from: Checkpoint;
  scorer: Scorer;
  sink: OutputSink;
  checkpointFile: string;
  options: BatchOptions;
  now: () => number;
  started: number;
  firstRejects: RejectRef[];
}

/** Reads units, keeps a few in flight in the session worker, writes them in order, checkpoints. */
async function pump(c: PumpContext): Promise<Checkpoint> {
  const interval = c.options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
  let state = c.from;
  let lastCheckpoint = c.now();
  const bytesAtStart =
    c.set.files.slice(0, c.from.position.file).reduce((n, f) => n + f.size, 0) + c.from.position.offset;
  const pool = new StoragePool();
  const inFlight: { unit: Unit; scored: Promise<ScoredBatch> | undefined }[] = [];
  const settle = async () => {
    const next = inFlight.shift();
    if (!next) return;
    const { unit } = next;
    const scored = next.scored ? await next.scored : undefined;
    const text =
      scored && unit.batch ? outputLines(scored.outputs, c.layout.outputs, unit.batch.records) : '';
    for (const [name, data] of Object.entries(scored?.inputs ?? {})) pool.give(name, data);
    c.sink.append(text, rejectLines(unit.rejects));
    for (const r of unit.rejects) if (c.firstRejects.length < FIRST_REJECTS) c.firstRejects.push(r);
    state = {
      ...state,
      position: unit.end,
      outputBytes: c.sink.outputBytes,
      rejectsBytes: c.sink.rejectsBytes,
      scored: state.scored + (unit.batch?.records.length ?? 0),
      rejected: state.rejected + unit.rejects.length,
    };
    if (c.now() - lastCheckpoint >= interval) {
      await checkpoint(c, state);
      lastCheckpoint = c.now();
    }
    c.options.onProgress?.({
      bytesDone: unit.bytesDone,
      bytesAtStart,
      totalBytes: c.set.totalBytes,
      scored: state.scored - c.from.scored,
      rejected: state.rejected - c.from.rejected,
      elapsedMs: c.now() - c.started,
    });
  };
  try {
    for await (const unit of readUnits(c.set, c.layout, c.from.position, pool)) {
      const scored = unit.batch ? c.scorer.run(unit.batch.inputs) : undefined;
      // Awaited in order by settle(); until then a failure must not count as unhandled.
      scored?.catch(() => undefined);
      inFlight.push({ unit, scored });
      if (inFlight.length >= IN_FLIGHT) await settle();
      if (c.options.signal?.aborted) break;
    }
    while (inFlight.length > 0) await settle();
  } catch (e) {
    // What was fully written is kept for --resume. Best effort: the error to report is the first one.
    await checkpoint(c, state).catch(() => undefined);
    throw e;
  }
  // Stopped by the signal: checkpointed where it stopped, for --resume.
  if (!c.options.signal?.aborted) state = { ...state, complete: true };
  await checkpoint(c, state);
  return state;
}

async function checkpoint(c: PumpContext, state: Checkpoint): Promise<void> {
  c.sink.sync();
  await writeCheckpoint(c.checkpointFile, state);
}

function summarize(
  base: Pick<BatchSummary, 'model' | 'input' | 'format' | 'files' | 'output' | 'batchSize'>,
  from: Checkpoint,
  state: Checkpoint,
  rejectsPath: string,
  set: InputSet,
  seconds: number,
  firstRejects: RejectRef[],
): BatchSummary {
  const scoredNow = state.scored - from.scored;
  const rejectedNow = state.rejected - from.rejected;
  const resumed = from.position.file > 0 || from.position.line > 0;
  const resumedFile = set.files[from.position.file];
  return {
    ...base,
    rejects: state.rejected > 0 ? rejectsPath : null,
    scored: state.scored,
    rejected: state.rejected,
    scoredNow,
    rejectedNow,
    seconds,
    recordsPerSecond: seconds > 0 ? (scoredNow + rejectedNow) / seconds : 0,
    resumedAt: resumed
      ? set.folder && resumedFile
        ? { file: basename(resumedFile.path), line: from.position.line }
        : { line: from.position.line }
      : null,
    complete: state.complete,
    firstRejects,
  };
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (e) {
    if (isENOENT(e)) return undefined;
    throw e;
  }
}
