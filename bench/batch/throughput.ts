/**
 * `modelport batch` throughput against raw onnxruntime, measured in one run (npm run bench:batch).
 *
 * Every side scores the same MNIST-shaped records (100,000 by default) through mnist_mlp at batch size
 * 64 with the same session settings (modules/scoring/session-options.ts: intra-op threads = cores), in
 * this process, session load excluded:
 * - `session.run only`: onnxruntime over records already in a Float32Array: no I/O, no JSON. The
 *   ceiling of inference alone.
 * - `onnxruntime script`: the same job written directly against onnxruntime, as a user would without
 *   modelport: readline over the JSON-lines file, JSON.parse, a Float32Array per batch, session.run,
 *   JSON.stringify of each output line to a write stream.
 * - `modelport batch`: runBatch(), the library behind the CLI: reading, parsing, batching, inference in
 *   the session worker, formatting, writing, checkpointing.
 * The sides alternate for several rounds (the machine is shared, so one pair can mislead); the median
 * ratios are printed, with each side's CPU time per record (all threads of the process), which moves
 * less than wall time when other work shares the cores.
 *
 * Target: modelport batch ≥ 0.8 × raw onnxruntime, read as the onnxruntime script doing the same job.
 * Against session.run alone it cannot hold on a model this small: mnist_mlp's inference costs a few µs
 * a record, less than reading its ~2 KB of JSON text does; that line shows how far from the ceiling.
 *
 * Env: BENCH_RECORDS (default 100000), BENCH_ROUNDS (default 3), BENCH_BATCH (default 64).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { InferenceSession } from 'onnxruntime-node';
import { runBatch } from '../../cloud/batch/run-batch.js';
import { openSessionScorer } from '../../cloud/batch/scorer.js';
import { materializeModel } from '../../cloud/registry/materialize.js';
import { ModelRegistry } from '../../cloud/registry/registry.js';
import { planThreads } from '../../modules/scoring/session-options.js';
import { ortSessionOptions } from '../../modules/scoring/worker/protocol.js';
import { writeFixture } from '../../test/support/onnx/fixtures.js';

process.env.ORT_DISABLE_TELEMETRY ??= '1';
const RECORDS = Number(process.env.BENCH_RECORDS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCH = Number(process.env.BENCH_BATCH ?? 64);
const FEATURES = 784;

/** MNIST-like pixels: mostly 0, the rest k/255 written with 4 decimals, from a seeded generator. */
function generate(): Float32Array {
  let seed = 20240601;
  const random = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  const data = new Float32Array(RECORDS * FEATURES);
  for (let i = 0; i < data.length; i++) {
    data[i] = random() < 0.8 ? 0 : Number((Math.floor(random() * 256) / 255).toFixed(4));
  }
  return data;
}

async function writeRecords(path: string, data: Float32Array): Promise<void> {
  const out = createWriteStream(path);
  for (let r = 0; r < RECORDS; r++) {
    const row = Array.from(data.subarray(r * FEATURES, (r + 1) * FEATURES), (v) => Number(v.toFixed(4)));
    if (!out.write(`${JSON.stringify(row)}\n`))
      await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => out.end(() => resolve()).once('error', reject));
}

async function openSession(modelFile: string): Promise<InferenceSession> {
  const ort = await import('onnxruntime-node');
  const s = planThreads({ workersPerModel: 1 }).settings;
  // The same options `modelport batch` gives its workers, so the comparison is of the pipeline alone.
  return ort.InferenceSession.create(modelFile, ortSessionOptions(s));
}

/** Records per second of session.run alone over in-memory records. */
async function sessionOnly(modelFile: string, data: Float32Array): Promise<number> {
  const ort = await import('onnxruntime-node');
  const session = await openSession(modelFile);
  const started = performance.now();
  for (let r = 0; r < RECORDS; r += BATCH) {
    const rows = Math.min(BATCH, RECORDS - r);
    const x = data.slice(r * FEATURES, (r + rows) * FEATURES);
    await session.run({ input: new ort.Tensor('float32', x, [rows, FEATURES]) });
  }
  const seconds = (performance.now() - started) / 1000;
  await session.release();
  return RECORDS / seconds;
}

/** Records per second of the same job written directly against onnxruntime (JSON lines in and out). */
async function directScript(modelFile: string, input: string, output: string): Promise<number> {
  const ort = await import('onnxruntime-node');
  const session = await openSession(modelFile);
  const started = performance.now();
  const out = createWriteStream(output);
  let rows: number[][] = [];
  let line = 0;
  const flush = async () => {
    const x = new Float32Array(rows.length * FEATURES);
    for (const [i, row] of rows.entries()) x.set(row, i * FEATURES);
    const result = await session.run({ input: new ort.Tensor('float32', x, [rows.length, FEATURES]) });
    const p = result.probabilities?.data as Float32Array;
    const first = line - rows.length + 1;
    let text = '';
    for (let i = 0; i < rows.length; i++) {
      text += `${JSON.stringify({ line: first + i, output: Array.from(p.subarray(i * 10, (i + 1) * 10)) })}\n`;
    }
    if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    rows = [];
  };
  for await (const text of createInterface({ input: createReadStream(input), crlfDelay: Infinity })) {
    line++;
    rows.push(JSON.parse(text) as number[]);
    if (rows.length === BATCH) await flush();
  }
  if (rows.length > 0) await flush();
  await new Promise<void>((resolve, reject) => out.end(() => resolve()).once('error', reject));
  const seconds = (performance.now() - started) / 1000;
  await session.release();
  return line / seconds;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'modelport-bench-batch-'));
  try {
    const registry = ModelRegistry.open(join(work, 'home'));
    const fixture = await writeFixture('mnist_mlp', join(work, 'src'));
    const model = await registry.register({ name: 'mnist_mlp', path: fixture });
    const { dir } = await materializeModel(registry, model, join(work, 'models'));
    registry.close();
    const modelFile = join(dir, model.onnx?.file ?? 'mnist_mlp.onnx');
    const data = generate();
    const input = join(work, 'records.jsonl');
    await writeRecords(input, data);
    console.log(`mnist_mlp, ${RECORDS} records of JSON lines, batch ${BATCH}, ${ROUNDS} rounds`);
    const toSession: number[] = [];
    const toScript: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      let cpu = process.cpuUsage();
      const session = await sessionOnly(modelFile, data);
      const sessionCpu = cpuMicros(process.cpuUsage(cpu));
      cpu = process.cpuUsage();
      const script = await directScript(modelFile, input, join(work, 'script-out.jsonl'));
      const scriptCpu = cpuMicros(process.cpuUsage(cpu));
      // The session worker is started before the clock, as the other sides' sessions are.
      const scorer = await openSessionScorer(model.name, modelFile);
      cpu = process.cpuUsage();
      const started = performance.now();
      const { summary } = await runBatch({
        model,
        modelFile,
        input,
        output: join(work, 'batch-out.jsonl'),
        batchSize: BATCH,
        overwrite: true,
        openScorer: async () => scorer,
      });
      const batch = summary.scored / ((performance.now() - started) / 1000);
      const batchCpu = cpuMicros(process.cpuUsage(cpu));
      if (summary.scored !== RECORDS) throw new Error(`batch scored ${summary.scored} of ${RECORDS} records`);
      toSession.push(batch / session);
      toScript.push(batch / script);
      console.log(
        `round ${round}: session.run only ${rate(session)}, onnxruntime script ${rate(script)}, modelport batch ${rate(batch)} records/s` +
          ` | CPU per record: ${perRecord(sessionCpu)}, ${perRecord(scriptCpu)}, ${perRecord(batchCpu)} µs`,
      );
    }
    console.log(`modelport batch / onnxruntime script: ${median(toScript).toFixed(2)} (target >= 0.8)`);
    console.log(
      `modelport batch / session.run only:  ${median(toSession).toFixed(2)} (inference alone, no I/O or JSON: the ceiling)`,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** User + system CPU of this process (all its threads), in µs. */
function cpuMicros(u: NodeJS.CpuUsage): number {
  return u.user + u.system;
}

function perRecord(micros: number): string {
  return (micros / RECORDS).toFixed(1).padStart(5);
}

function rate(n: number): string {
  return n.toFixed(0).padStart(7);
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
}

await main();
