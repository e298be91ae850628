import { spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELPORT_BIN, runModelport } from '../../support/cli.js';
import { mnistExpected } from '../../support/fixture-reference.js';
import { tempDir } from '../../support/tmp.js';
import {
  expectRowClose,
  type OutputLine,
  type RejectLine,
  readJsonLines,
  registerFixtures,
  seeded,
} from './helpers.js';

const work = tempDir('batch-resume');
let env: NodeJS.ProcessEnv;
const file = (name: string) => join(work.path, name);

const RECORDS = 10_000;
const BAD = new Map<number, string>([
  [3, '[0, 1, 2]'],
  [2_222, '{"data": [0, 1'],
  [5_000, '"nope"'],
  [7_777, '{"input": "text"}'],
  [9_999, '[]'],
]);
let x: Float32Array;
let expected: Float64Array;
let goodLines: number[];

beforeAll(async () => {
  env = await registerFixtures(join(work.path, 'home'), ['mnist_mlp']);
  const random = seeded(424242);
  x = new Float32Array(RECORDS * 784);
  for (let i = 0; i < x.length; i++) x[i] = random() < 0.8 ? 0 : Math.round(random() * 255) / 255;
  const lines: string[] = [];
  goodLines = [];
  for (let r = 0; r < RECORDS; r++) {
    const line = r + 1;
    const bad = BAD.get(line);
    if (bad) lines.push(bad);
    else {
      goodLines.push(line);
      lines.push(JSON.stringify(Array.from(x.subarray(r * 784, (r + 1) * 784))));
    }
  }
  writeFileSync(file('records.jsonl'), `${lines.join('\n')}\n`);
  expected = mnistExpected(x, RECORDS);
});
afterAll(() => work.cleanup());

interface Round {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  outputBytesAtKill: number;
}

/**
 * Runs `modelport batch` and, when `killAt` is set, kills it (SIGKILL unless told) once the `watched`
 * output holds at least `killAt.bytes` bytes or `killAt.afterMs` has passed, whichever comes first.
 */
function runRound(
  args: string[],
  killAt?: { bytes: number; afterMs: number; signal?: NodeJS.Signals },
  watched = file('out.jsonl'),
): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MODELPORT_BIN, ...args], {
      env: { ...process.env, MODELPORT_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let outputBytesAtKill = -1;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const started = Date.now();
    const timer = killAt
      ? setInterval(() => {
          const size = existsSync(watched) ? statSync(watched).size : 0;
          if (size >= killAt.bytes || Date.now() - started >= killAt.afterMs) {
            outputBytesAtKill = size;
            child.kill(killAt.signal ?? 'SIGKILL');
            clearInterval(timer);
          }
        }, 2)
      : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(timer);
      resolve({ code, signal, stdout, stderr, outputBytesAtKill });
    });
  });
}

function checkComplete(output = 'out.jsonl'): void {
  const outputs = readJsonLines<OutputLine>(file(output));
  // Exactly once, in order: the line numbers are the good lines, no gap, no repeat.
  expect(outputs.map((o) => o.line)).toEqual(goodLines);
  for (const o of outputs) {
    const r = o.line - 1;
    expectRowClose(o.output as number[], expected, r * 10, `line ${o.line}`);
  }
  const rejects = file(output.replace(/\.jsonl$/, '.rejects.jsonl'));
  expect(readJsonLines<RejectLine>(rejects).map((r) => r.line)).toEqual([...BAD.keys()]);
}

describe('modelport batch --resume', () => {
  it('finishes with every record exactly once after kill -9 at seeded random points', {
    timeout: 300_000,
  }, async () => {
    const args = [
      'batch',
      '--model',
      'mnist_mlp:1',
      '--input',
      file('records.jsonl'),
      '--output',
      file('out.jsonl'),
      '--batch-size',
      '32',
      '--checkpoint-interval',
      '0.05',
      '--json',
    ];
    // An uninterrupted run's output size, to place kill points inside the run.
    const whole = await runRound([...args, '--output', file('reference.jsonl')]);
    expect(whole.code, whole.stderr).toBe(6);
    const total = statSync(file('reference.jsonl')).size;

    const random = seeded(99);
    let killedMidRun = 0;
    // Completed runs that continued from a checkpoint rather than from the start.
    let resumedRuns = 0;
    // Round 0 is killed while still starting (before any output); the others once the output has
    // reached a seeded random size, anywhere between two checkpoints.
    for (let round = 0; round < 6; round++) {
      const roundArgs = round === 0 ? args : [...args, '--resume'];
      const killAt =
        round === 0
          ? { bytes: 1, afterMs: 300 }
          : { bytes: Math.floor((0.05 + random() * 0.9) * total), afterMs: 120_000 };
      const result = await runRound(roundArgs, killAt);
      if (result.signal === 'SIGKILL') {
        if (result.outputBytesAtKill > 0) killedMidRun++;
        continue;
      }
      // The run outran the kill point: it must have finished properly.
      expect(result.code, result.stderr).toBe(6);
      if (JSON.parse(result.stdout).result.resumedAt !== null) resumedRuns++;
    }
    expect(killedMidRun).toBeGreaterThanOrEqual(3);

    const final = await runRound([...args, '--resume']);
    expect(final.code, final.stderr).toBe(6);
    const summary = JSON.parse(final.stdout).result;
    expect(summary).toMatchObject({ scored: RECORDS - BAD.size, rejected: BAD.size, complete: true });
    if (summary.resumedAt !== null) resumedRuns++;
    expect(resumedRuns).toBeGreaterThanOrEqual(1);
    checkComplete();
  });

  it('stops cleanly on SIGTERM (exit 130, checkpointed) and --resume completes the run', {
    timeout: 120_000,
  }, async () => {
    const args = [
      'batch',
      '--model',
      'mnist_mlp:1',
      '--input',
      file('records.jsonl'),
      '--output',
      file('term.jsonl'),
      '--json',
    ];
    // A fresh output, so the signal waits for this run's own output to grow.
    const stopped = await runRound(
      args,
      { bytes: 200_000, afterMs: 120_000, signal: 'SIGTERM' },
      file('term.jsonl'),
    );
    expect(stopped.code, stopped.stderr).toBe(130);
    const partial = JSON.parse(stopped.stdout).result;
    expect(partial.complete).toBe(false);
    expect(partial.scored).toBeGreaterThan(0);
    expect(partial.scored).toBeLessThan(RECORDS - BAD.size);

    const resumed = await runModelport([...args, '--resume'], env);
    expect(resumed.code, resumed.stderr).toBe(6);
    const done = resumed.json().result;
    expect(done.resumedAt).not.toBeNull();
    expect(done.scoredNow + partial.scored).toBe(RECORDS - BAD.size);
    checkComplete('term.jsonl');
  });
});
