import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { isENOENT, isModelportError, NotFoundError, UsageError } from '../../common/errors.js';
import { batchSettingsFor } from '../../modules/scoring/batching/batch-settings.js';
import { decodeScoreBody } from '../../modules/scoring/score-body.js';
import type { ServedModel } from '../../modules/scoring/served-model.js';
import type { TensorMeta } from '../../modules/scoring/tensor.js';
import type { OnnxSummary } from '../registry/types.js';

/** Sample files are request bodies; anything far larger is not what the option is for. */
export const MAX_SAMPLE_FILE_BYTES = 64 * 1024 * 1024;

/** The request bodies a profile sends, checked against the model, and what they hold. */
export interface Sample {
  /** Each body exactly as read (JSON text), sent round-robin. */
  bodies: string[];
  facts: SampleFacts;
}

export interface SampleFacts {
  file: string;
  /** Request bodies in the file (1 for a JSON document, one per line for JSON lines). */
  requests: number;
  /** Rows (batch dimension) per request: the smallest and largest. */
  rowsPerRequest: { min: number; max: number };
  bytes: number;
  /** The first request's tensors, as the server decodes them. */
  inputs: { name: string; type: string; shape: number[] }[];
}

/**
 * Reads a sample file — one `/score` request body (a JSON document) or several (JSON lines) — and
 * checks every body against the model's inputs with the scoring server's own decoder, so a body the
 * server would answer with a 400 is refused here, before any server starts or any load runs.
 */
export async function loadSample(
  file: string,
  model: { name: string; version: number; onnx: OnnxSummary },
): Promise<Sample> {
  const size = await stat(file).then(
    (s) => s.size,
    (e: unknown) => {
      if (isENOENT(e)) throw new NotFoundError('SAMPLE_NOT_FOUND', `sample file ${file} does not exist`);
      throw e;
    },
  );
  if (size > MAX_SAMPLE_FILE_BYTES) {
    throw new UsageError(
      'SAMPLE_TOO_LARGE',
      `sample file ${file} has ${size} bytes; the limit is ${MAX_SAMPLE_FILE_BYTES}`,
      {
        hint: 'a few representative request bodies are enough: profiling sends them round-robin',
      },
    );
  }
  const text = await readFile(file, 'utf8');
  const bodies = splitBodies(text, file);
  const served = servedModelOf(model);
  let inputs: SampleFacts['inputs'] = [];
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  bodies.forEach((body, i) => {
    const label =
      bodies.length === 1 ? `sample ${basename(file)}` : `sample ${basename(file)} line ${body.line}`;
    let tensors: ReturnType<typeof decodeScoreBody>;
    try {
      tensors = decodeScoreBody(body.value, served);
    } catch (e) {
      if (!isModelportError(e)) throw e;
      throw new UsageError(
        'SAMPLE_INVALID',
        `${label} does not fit model ${model.name}:${model.version}: ${e.message}`,
        {
          hint: `send what POST /score takes: ${describeInputs(served.inputs)}`,
          ...(e.details ? { details: e.details } : {}),
        },
      );
    }
    const rows = Math.min(...Object.values(tensors).map((t) => t.dims[0] ?? 1));
    min = Math.min(min, rows);
    max = Math.max(max, rows);
    if (i === 0) inputs = Object.entries(tensors).map(([name, t]) => ({ name, type: t.type, shape: t.dims }));
  });
  return {
    bodies: bodies.map((b) => b.text),
    facts: { file, requests: bodies.length, rowsPerRequest: { min, max }, bytes: size, inputs },
  };
}

interface Body {
  text: string;
  value: unknown;
  line: number;
}

/** One JSON document, or JSON lines (blank lines skipped). */
function splitBodies(text: string, file: string): Body[] {
  const whole = text.trim();
  if (whole.length === 0) throw new UsageError('SAMPLE_EMPTY', `sample file ${file} is empty`);
  try {
    return [{ text: whole, value: JSON.parse(whole), line: 1 }];
  } catch {
    // Not one document: read it as JSON lines below.
  }
  const bodies: Body[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line.length === 0) return;
    try {
      bodies.push({ text: line, value: JSON.parse(line), line: i + 1 });
    } catch (e) {
      throw new UsageError(
        'SAMPLE_INVALID',
        `sample file ${file} line ${i + 1} is not valid JSON: ${(e as Error).message}`,
        {
          hint: 'give one request body as a JSON document, or one body per line (JSON lines)',
        },
      );
    }
  });
  return bodies;
}

/** The model as the server's body decoder sees it (only inputs and outputs matter to it). */
function servedModelOf(model: { name: string; version: number; onnx: OnnxSummary }): ServedModel {
  const meta = (t: OnnxSummary['inputs'][number]): TensorMeta => ({
    name: t.name,
    type: t.elementType,
    shape: t.shape,
  });
  const inputs = model.onnx.inputs.map(meta);
  const outputs = model.onnx.outputs.map(meta);
  return {
    name: model.name,
    version: String(model.version),
    file: model.onnx.file,
    inputs,
    outputs,
    loadMs: 0,
    providers: ['cpu'],
    batching: batchSettingsFor({ name: model.name, inputs, outputs }),
  };
}

function describeInputs(inputs: readonly TensorMeta[]): string {
  const shape = (t: TensorMeta) =>
    `[${(t.shape ?? []).map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
  if (inputs.length === 1 && inputs[0])
    return `{"data": rows for input '${inputs[0].name}' ${shape(inputs[0])}}`;
  return `{"data": {${inputs.map((i) => `"${i.name}": ${shape(i)}`).join(', ')}}}`;
}
