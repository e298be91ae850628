import { describe, expect, it } from 'vitest';
import { batchSettingsFor, parseBatchOverride } from '../../../modules/scoring/batching/batch-settings.js';
import { batchKey, concatRows, rowsOf, sliceRows } from '../../../modules/scoring/batching/batch-tensors.js';
import { Batcher, type BatchRunner, type InferResult } from '../../../modules/scoring/batching/batcher.js';
import { planThreads, shouldReshape } from '../../../modules/scoring/session-options.js';
import type { TensorData } from '../../../modules/scoring/tensor.js';

const f32 = (dims: number[], values: number[]): TensorData => ({
  type: 'float32',
  dims,
  data: Float32Array.from(values),
});

describe('batch tensors', () => {
  it('stacks rows and slices them back as views', () => {
    const stacked = concatRows([f32([1, 2], [1, 2]), f32([2, 2], [3, 4, 5, 6])]);
    expect(stacked.dims).toEqual([3, 2]);
    expect(Array.from(stacked.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    const part = sliceRows(stacked, 1, 2);
    expect(part.dims).toEqual([2, 2]);
    expect(Array.from(part.data as Float32Array)).toEqual([3, 4, 5, 6]);
    expect((part.data as Float32Array).buffer).toBe((stacked.data as Float32Array).buffer);
  });

  it('stacks strings', () => {
    const t = concatRows([
      { type: 'string', dims: [1, 2], data: ['a', 'b'] },
      { type: 'string', dims: [1, 2], data: ['c', 'd'] },
    ]);
    expect(t.data).toEqual(['a', 'b', 'c', 'd']);
    expect(sliceRows(t, 1, 1).data).toEqual(['c', 'd']);
  });

  it('keys requests by types, trailing dims and requested outputs', () => {
    const a = { x: f32([1, 3], [1, 2, 3]) };
    expect(batchKey(a, undefined)).toBe(batchKey({ x: f32([5, 3], Array(15).fill(0)) }, undefined));
    expect(batchKey(a, undefined)).not.toBe(batchKey({ x: f32([1, 4], [1, 2, 3, 4]) }, undefined));
    expect(batchKey(a, ['y'])).not.toBe(batchKey(a, undefined));
    expect(rowsOf({ x: f32([4, 1], [1, 2, 3, 4]) })).toBe(4);
  });
});

describe('batch settings', () => {
  const meta = (shape: (number | string | null)[]) => ({ name: 't', type: 'float32', shape });
  it('batches models whose inputs and outputs all have a free first dimension', () => {
    expect(
      batchSettingsFor({ name: 'm', inputs: [meta(['N', 3])], outputs: [meta(['N', 1])] }),
    ).toMatchObject({ maxBatchSize: 32, maxQueueDelayMs: 0 });
    expect(
      batchSettingsFor({ name: 'm', inputs: [meta([null, 3])], outputs: [meta(['N'])] }).maxBatchSize,
    ).toBe(32);
  });

  it.each([
    [[meta([1, 3])], [meta(['N', 1])], /no free batch dimension/],
    [[meta(['N', 3])], [meta([])], /no free batch dimension/],
    [[meta(['N', 3])], [meta(['N', 1])], /turned off/, { models: { m: false as const } }],
    [[meta(['N', 3])], [meta(['N', 1])], /max batch size is 1/, { maxBatchSize: 1 }],
  ] as const)('does not batch %#', (inputs, outputs, reason, config?: object) => {
    const s = batchSettingsFor({ name: 'm', inputs: [...inputs], outputs: [...outputs] }, config);
    expect(s.maxBatchSize).toBe(1);
    expect(s.reason).toMatch(reason);
  });

  it('takes per-model overrides over defaults', () => {
    const s = batchSettingsFor(
      { name: 'm', inputs: [meta(['N', 3])], outputs: [meta(['N'])] },
      { maxBatchSize: 8, maxQueueDelayMs: 1, models: { m: { maxBatchSize: 4 } } },
    );
    expect(s).toMatchObject({ maxBatchSize: 4, maxQueueDelayMs: 1 });
  });

  it.each([
    ['cnn=16,2', ['cnn', { maxBatchSize: 16, maxQueueDelayMs: 2 }]],
    ['cnn=16', ['cnn', { maxBatchSize: 16 }]],
    ['cnn=off', ['cnn', false]],
  ])('parses %s', (text, expected) => {
    expect(parseBatchOverride(text)).toEqual(expected);
  });

  it.each(['cnn', '=4', 'cnn=0', 'cnn=4,-1', 'cnn=x'])('refuses %s', (text) => {
    expect(() => parseBatchOverride(text)).toThrow(/is not NAME=off, NAME=SIZE or NAME=SIZE,DELAY_MS/);
  });
});

/** A runner computing y = 2x in JavaScript, with one run at a time (like one session worker). */
class DoublingRunner implements BatchRunner {
  constructor(readonly size = 1) {}
  runs: number[] = [];
  release: (() => void) | undefined;
  hold = false;
  private inFlight = 0;
  hasIdle(): boolean {
    return this.inFlight < this.size;
  }
  async run(inputs: Record<string, TensorData>): Promise<InferResult> {
    this.inFlight++;
    const x = inputs.x as TensorData;
    this.runs.push(x.dims[0] as number);
    if (this.hold) await new Promise<void>((r) => (this.release = r));
    await new Promise((r) => setImmediate(r));
    this.inFlight--;
    return {
      outputs: { y: { type: 'float32', dims: x.dims, data: (x.data as Float32Array).map((v) => v * 2) } },
      runMs: 1,
    };
  }
}

describe('the batcher', () => {
  const settings = (maxBatchSize: number, maxQueueDelayMs = 0) => ({
    maxBatchSize,
    maxQueueDelayMs,
    reason: 'test',
  });
  it('coalesces requests that arrive together, up to the max batch size, and splits the results', async () => {
    const runner = new DoublingRunner();
    const b = new Batcher(runner, { model: 'm', settings: settings(4), timeoutMs: 10_000, maxQueue: 100 });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => b.submit({ x: f32([1, 2], [i, i + 0.5]) })),
    );
    expect(runner.runs).toEqual([4, 2]);
    for (const [i, r] of results.entries()) {
      expect(Array.from(r.outputs.y?.data as Float32Array)).toEqual([2 * i, 2 * i + 1]);
    }
  });

  it('with several workers, leaves a batch waiting for each so none idles', async () => {
    const runner = new DoublingRunner(2);
    const b = new Batcher(runner, { model: 'm', settings: settings(32), timeoutMs: 10_000, maxQueue: 100 });
    await Promise.all(Array.from({ length: 16 }, (_, i) => b.submit({ x: f32([1, 1], [i]) })));
    // 16 requests, 2 workers: runs of at most a quarter each while they are all in the system.
    expect(Math.max(...runner.runs)).toBeLessThanOrEqual(4);
    expect(runner.runs.reduce((a, n) => a + n, 0)).toBe(16);
  });

  it('never mixes requests of different shapes in one run', async () => {
    const runner = new DoublingRunner();
    const b = new Batcher(runner, { model: 'm', settings: settings(8), timeoutMs: 10_000, maxQueue: 100 });
    await Promise.all([
      b.submit({ x: f32([1, 2], [1, 2]) }),
      b.submit({ x: f32([1, 3], [1, 2, 3]) }),
      b.submit({ x: f32([1, 2], [3, 4]) }),
    ]);
    expect(runner.runs.sort()).toEqual([1, 2]);
  });

  it('fails requests past the timeout, refuses work beyond the queue bound, and drains', async () => {
    const runner = new DoublingRunner();
    runner.hold = true;
    const b = new Batcher(runner, { model: 'm', settings: settings(1), timeoutMs: 50, maxQueue: 2 });
    const first = b.submit({ x: f32([1, 1], [1]) });
    await new Promise((r) => setImmediate(r));
    const queued = [b.submit({ x: f32([1, 1], [2]) }), b.submit({ x: f32([1, 1], [3]) })];
    await expect(b.submit({ x: f32([1, 1], [4]) })).rejects.toMatchObject({
      code: 'QUEUE_FULL',
      httpStatus: 503,
    });
    await expect(first).rejects.toThrow('Scoring timeout after 50 ms');
    for (const q of queued) await expect(q).rejects.toMatchObject({ code: 'SCORING_TIMEOUT' });
    runner.release?.();
    await b.drain();
    expect(b.pending).toBe(0);
  });
});

describe('threading plans', () => {
  it('plans one worker with a thread per core unless told otherwise', () => {
    const plan = planThreads();
    expect(plan.workersPerModel).toBe(1);
    expect(plan.settings.intraOpNumThreads).toBe(plan.cores);
    expect(plan.settings.allowSpinning).toBe(false);
    expect(plan.auto).toBe(true);
    const set = planThreads({ workersPerModel: 2 });
    expect(set.auto).toBe(false);
    expect(set.settings.intraOpNumThreads).toBe(Math.max(1, Math.floor(set.cores / 2)));
  });

  it.each([
    [{ auto: true, cores: 2 }, { warmRunMs: 1.2, fileBytes: 2e6, providers: ['cpu'] }, true],
    [{ auto: true, cores: 2 }, { warmRunMs: 0.05, fileBytes: 2e6, providers: ['cpu'] }, false],
    [{ auto: false, cores: 2 }, { warmRunMs: 5, fileBytes: 2e6, providers: ['cpu'] }, false],
    [{ auto: true, cores: 1 }, { warmRunMs: 5, fileBytes: 2e6, providers: ['cpu'] }, false],
    [{ auto: true, cores: 2 }, { warmRunMs: 5, fileBytes: 2e6, providers: ['cuda'] }, false],
    [{ auto: true, cores: 2 }, { warmRunMs: 5, fileBytes: 4e9, providers: ['cpu'] }, false],
    [{ auto: true, cores: 2 }, { warmRunMs: undefined, fileBytes: 2e6, providers: ['cpu'] }, false],
  ])('reshapes %j %j → %s', (plan, model, expected) => {
    expect(shouldReshape(plan, model, 16e9)).toBe(expected);
  });
});
