/**
 * Baselines (b) and (c): onnxruntime's session.run in this process, no HTTP, no worker.
 *   MODEL=<file> MODE=throughput  → best images/s over batch sizes 1..64 and intra-op threads 1..cores
 *   MODEL=<file> MODE=latency     → p50/p99 ms of batch-1 runs at the best thread count
 * THREADS=1,2, SPIN=0|1 and BATCHES=8,16 narrow the sweep.
 * Prints one JSON document.
 */
import { availableParallelism } from 'node:os';

process.env.ORT_DISABLE_TELEMETRY ??= '1';
const ort = await import('onnxruntime-node');

const file = process.env.MODEL ?? '';
const mode = process.env.MODE ?? 'throughput';
const seconds = Number(process.env.SECONDS ?? 1.5);
const cores = availableParallelism();

async function session(threads: number, spin: boolean) {
  return ort.InferenceSession.create(file, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    extra: { session: { intra_op: { allow_spinning: spin ? '1' : '0' } } },
  });
}

function feed(s: Awaited<ReturnType<typeof session>>, batch: number) {
  const meta = s.inputMetadata[0] as unknown as { name: string; shape: (number | string)[] };
  const dims = meta.shape.map((d, i) => (i === 0 ? batch : Number(d)));
  const size = dims.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: size }, (_, i) => ((i * 37) % 255) / 255);
  return { [meta.name]: new ort.Tensor('float32', data, dims) };
}

async function throughput(threads: number, spin: boolean, batch: number): Promise<number> {
  const s = await session(threads, spin);
  const feeds = feed(s, batch);
  for (let i = 0; i < 3; i++) await s.run(feeds);
  let rows = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    await s.run(feeds);
    rows += batch;
  }
  const rate = rows / ((performance.now() - started) / 1000);
  await s.release();
  return rate;
}

async function latency(threads: number, spin: boolean): Promise<number[]> {
  const s = await session(threads, spin);
  const feeds = feed(s, 1);
  for (let i = 0; i < 50; i++) await s.run(feeds);
  const ms: number[] = [];
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    const t = performance.now();
    await s.run(feeds);
    ms.push(performance.now() - t);
  }
  await s.release();
  return ms.sort((a, b) => a - b);
}

const numbers = (text: string | undefined, fallback: number[]) =>
  text ? text.split(',').map(Number) : fallback;
const threadOptions = numbers(process.env.THREADS, [...new Set([1, cores])]);
const batchOptions = numbers(process.env.BATCHES, [1, 2, 4, 8, 16, 32, 64]);
// Idle intra-op threads spinning (onnxruntime's default) or sleeping: both are tried with >1 thread.
const spinOptions = (threads: number) =>
  process.env.SPIN ? [process.env.SPIN === '1'] : threads > 1 ? [true, false] : [true];
if (mode === 'throughput') {
  const results: { threads: number; spin: boolean; batch: number; rowsPerSecond: number }[] = [];
  for (const threads of threadOptions) {
    for (const spin of spinOptions(threads)) {
      for (const batch of batchOptions) {
        results.push({ threads, spin, batch, rowsPerSecond: await throughput(threads, spin, batch) });
      }
    }
  }
  const best = results.reduce((a, b) => (b.rowsPerSecond > a.rowsPerSecond ? b : a));
  process.stdout.write(`${JSON.stringify({ best, results })}\n`);
} else {
  let best: { threads: number; spin: boolean; p50: number; p99: number } | undefined;
  for (const threads of threadOptions) {
    for (const spin of spinOptions(threads)) {
      const ms = await latency(threads, spin);
      const p50 = ms[Math.floor(ms.length / 2)] as number;
      const p99 = ms[Math.floor(ms.length * 0.99)] as number;
      if (!best || p50 < best.p50) best = { threads, spin, p50, p99 };
    }
  }
  process.stdout.write(`${JSON.stringify({ best })}\n`);
}
