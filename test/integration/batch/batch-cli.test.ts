import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELPORT_BIN, runModelport } from '../../support/cli.js';
import { mnistExpected, regression10Expected } from '../../support/fixture-reference.js';
import { INT64_ADD, INT64_MUL } from '../../support/onnx/fixtures.js';
import { tempDir } from '../../support/tmp.js';
import { float32Bytes, npyBytes } from '../../unit/batch/npy-bytes.js';
import {
  expectClose,
  expectRowClose,
  type OutputLine,
  type RejectLine,
  readJsonLines,
  registerFixtures,
  rows,
  seeded,
} from './helpers.js';

const work = tempDir('batch-cli');
let env: NodeJS.ProcessEnv;
const file = (name: string) => join(work.path, name);

beforeAll(async () => {
  env = await registerFixtures(join(work.path, 'home'), [
    'regression10',
    'regression10_fixed',
    'mnist_mlp',
    'two_input',
    'int64_affine',
    'unsupported_op',
  ]);
});
afterAll(() => work.cleanup());

/** The `warnings` of a --json run's document. */
function warningsOf(r: { stdout: string }): string[] {
  return (JSON.parse(r.stdout) as { warnings: string[] }).warnings;
}

function checkRegression(outputs: OutputLine[], inputs: Map<number, number[]>): void {
  const lines = [...inputs.keys()];
  const expected = regression10Expected(lines.map((l) => inputs.get(l) as number[]));
  outputs.forEach((o, i) => {
    expect(o.line).toBe(lines[i]);
    expect(o.output).toHaveLength(1);
    expectClose(o.output[0], expected[i] as number, `line ${o.line}`);
  });
}

describe('modelport batch (the real binary)', () => {
  it('scores 10,000 records with 7 bad ones: 9,993 outputs in input order, 7 rejects with reasons, exit 6', async () => {
    const random = seeded(10_000);
    const data = rows(10_000, 10, random);
    const bad = new Map<number, [string, string | RegExp]>([
      [17, [JSON.stringify(data[16]?.slice(0, 9)), "input 'x' expects 10 values, got 9"]],
      [1_001, ['[1, 2, 3, "four", 5, 6, 7, 8, 9, 10]', `input 'x' value at [3] is not a number ("four")`]],
      [2_500, ['{"id": "b", "data": [1, 2, 3', /^not valid JSON/]],
      [4_096, ['[1, 2, 3, 4, 5, 6, 7, 8, 9, null]', "input 'x' value at [9] is not a number (null)"]],
      [6_000, ['{"y": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}', "the model has no input named 'y'; it takes 'x'"]],
      [8_192, ['"just text"', 'a record must be an array or an object, not "just text"']],
      [10_000, ['[[1, 2], [3, 4]]', /input 'x'/]],
    ]);
    const good = new Map<number, number[]>();
    const ids = new Map<number, string>();
    const lines = data.map((row, i) => {
      const line = i + 1;
      const b = bad.get(line);
      if (b) return b[0];
      good.set(line, row);
      if (line % 10 === 0) {
        ids.set(line, `rec-${line}`);
        return JSON.stringify({ id: `rec-${line}`, data: row });
      }
      if (line % 13 === 0) return JSON.stringify({ x: row });
      return JSON.stringify(row);
    });
    writeFileSync(file('ten-k.jsonl'), `${lines.join('\n')}\n`);

    const r = await runModelport(
      [
        'batch',
        '--model',
        'regression10:1',
        '--input',
        file('ten-k.jsonl'),
        '--output',
        file('ten-k.out.jsonl'),
        '--json',
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toBe(''); // no progress bar off a terminal
    const summary = r.json().result;
    expect(summary).toMatchObject({
      scored: 9_993,
      rejected: 7,
      complete: true,
      batchSize: 64,
      format: 'jsonl',
    });
    expect(summary.rejects).toBe(file('ten-k.out.rejects.jsonl'));

    const outputs = readJsonLines<OutputLine>(file('ten-k.out.jsonl'));
    expect(outputs).toHaveLength(9_993);
    checkRegression(outputs, good);
    for (const o of outputs) expect(o.id).toBe(ids.get(o.line));

    const rejects = readJsonLines<RejectLine>(file('ten-k.out.rejects.jsonl'));
    expect(rejects.map((x) => x.line)).toEqual([...bad.keys()]);
    for (const x of rejects) {
      const want = bad.get(x.line)?.[1] as string | RegExp;
      if (typeof want === 'string') expect(x.reason).toBe(want);
      else expect(x.reason).toMatch(want);
    }
  });

  it('scores mnist_mlp records to the probabilities an independent computation gives (partial last batch)', async () => {
    const n = 300;
    const random = seeded(7);
    const x = new Float32Array(n * 784);
    for (let i = 0; i < x.length; i++) x[i] = random() < 0.8 ? 0 : Math.round(random() * 255) / 255;
    const text = Array.from({ length: n }, (_, r) =>
      JSON.stringify(Array.from(x.subarray(r * 784, (r + 1) * 784))),
    ).join('\n');
    writeFileSync(file('mnist.jsonl'), `${text}\n`);
    const r = await runModelport(
      [
        'batch',
        '--model',
        'mnist_mlp',
        '--input',
        file('mnist.jsonl'),
        '--output',
        file('mnist.out.jsonl'),
        '--batch-size',
        '64',
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^Scored 300 records, 0 rejected, in [\d.]+ s \([\d,]+ records\/s\) with mnist_mlp:1$/m,
    );
    expect(existsSync(file('mnist.out.rejects.jsonl'))).toBe(false);
    const expected = mnistExpected(x, n);
    const outputs = readJsonLines<OutputLine>(file('mnist.out.jsonl'));
    expect(outputs.map((o) => o.line)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    outputs.forEach((o, r) => {
      expect(o.output).toHaveLength(10);
      expectRowClose(o.output as number[], expected, r * 10, `line ${o.line}`);
    });
  });

  it('reads CSV with and without a header; line numbers are the file’s own', async () => {
    const data = rows(150, 10, seeded(3));
    writeFileSync(file('plain.csv'), `${data.map((row) => row.join(',')).join('\n')}\n`);
    const withHeader = [
      Array.from({ length: 10 }, (_, i) => `f${i}`).join(','),
      ...data.slice(0, 20).map((row) => row.join(', ')),
      '1,2,3',
      ...data.slice(20, 40).map((row) => row.join(',')),
    ];
    writeFileSync(file('header.csv'), `\ufeff${withHeader.join('\r\n')}\r\n`);

    const plain = await runModelport(
      [
        'batch',
        '--model',
        'regression10',
        '--input',
        file('plain.csv'),
        '--output',
        file('plain.out.jsonl'),
        '--json',
      ],
      env,
    );
    expect(plain.code, plain.stderr).toBe(0);
    checkRegression(
      readJsonLines<OutputLine>(file('plain.out.jsonl')),
      new Map(data.map((row, i) => [i + 1, row])),
    );

    const headed = await runModelport(
      [
        'batch',
        '--model',
        'regression10',
        '--input',
        file('header.csv'),
        '--output',
        file('header.out.jsonl'),
        '--json',
      ],
      env,
    );
    expect(headed.code, headed.stderr).toBe(6);
    const expectedLines = new Map<number, number[]>();
    for (const [i, row] of data.slice(0, 20).entries()) expectedLines.set(i + 2, row);
    for (const [i, row] of data.slice(20, 40).entries()) expectedLines.set(i + 23, row);
    checkRegression(readJsonLines<OutputLine>(file('header.out.jsonl')), expectedLines);
    expect(readJsonLines<RejectLine>(file('header.out.rejects.jsonl'))).toEqual([
      { line: 22, reason: 'expected 10 values, got 3' },
    ]);
  });

  it('reads .npy arrays (float32 as is, float64 converted) a row per record', async () => {
    const data = rows(200, 10, seeded(5));
    writeFileSync(file('rows.npy'), npyBytes('<f4', [200, 10], float32Bytes(data.flat())));
    writeFileSync(
      file('rows64.npy'),
      npyBytes('<f8', [200, 10], new Uint8Array(Float64Array.from(data.flat()).buffer)),
    );
    for (const name of ['rows.npy', 'rows64.npy']) {
      const r = await runModelport(
        [
          'batch',
          '--model',
          'regression10',
          '--input',
          file(name),
          '--output',
          file(`${name}.out.jsonl`),
          '--json',
        ],
        env,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.json().result).toMatchObject({ format: 'npy', scored: 200, rejected: 0 });
      checkRegression(
        readJsonLines<OutputLine>(file(`${name}.out.jsonl`)),
        new Map(data.map((row, i) => [i + 1, row])),
      );
    }
    writeFileSync(file('wide.npy'), npyBytes('<f4', [2, 11], float32Bytes(new Array(22).fill(1))));
    const wide = await runModelport(
      [
        'batch',
        '--model',
        'regression10',
        '--input',
        file('wide.npy'),
        '--output',
        file('wide.out.jsonl'),
        '--json',
      ],
      env,
    );
    expect(wide.code).toBe(2);
    expect(wide.json().error?.message).toMatch(
      /wide.npy has rows of 11 values .* input 'x' takes 10 per record \[10\]/,
    );
  });

  it('scores a folder: its files in name order, line numbers per file with the file named', async () => {
    const dir = file('parts');
    mkdirSync(dir);
    const data = rows(90, 10, seeded(11));
    writeFileSync(
      join(dir, 'b.jsonl'),
      `${data
        .slice(30, 60)
        .map((row) => JSON.stringify(row))
        .join('\n')}\n`,
    );
    writeFileSync(
      join(dir, 'a.jsonl'),
      `${data
        .slice(0, 30)
        .map((row) => JSON.stringify(row))
        .join('\n')}\n\n`,
    );
    writeFileSync(
      join(dir, 'c.jsonl'),
      `${data
        .slice(60)
        .map((row) => JSON.stringify(row))
        .join('\n')}`,
    );
    writeFileSync(join(dir, 'notes.txt'), 'not records');
    const r = await runModelport(
      ['batch', '--model', 'regression10', '--input', dir, '--output', file('parts.out.jsonl'), '--json'],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().result).toMatchObject({ files: 3, scored: 90 });
    expect(warningsOf(r)).toEqual(['skipped 1 file(s) that are not jsonl: notes.txt']);
    const outputs = readJsonLines<OutputLine>(file('parts.out.jsonl'));
    expect(outputs.map((o) => `${o.file}:${o.line}`)).toEqual([
      ...Array.from({ length: 30 }, (_, i) => `a.jsonl:${i + 1}`),
      ...Array.from({ length: 30 }, (_, i) => `b.jsonl:${i + 1}`),
      ...Array.from({ length: 30 }, (_, i) => `c.jsonl:${i + 1}`),
    ]);
    const expected = regression10Expected(data);
    for (const [i, o] of outputs.entries())
      expectClose(o.output[0], expected[i] as number, `${o.file}:${o.line}`);
  });

  it('scores multi-input, multi-output, int64 and fixed-batch models', async () => {
    writeFileSync(
      file('two.jsonl'),
      '{"id": "p", "data": {"a": [1, 2, 3, 4], "b": [10, 20, 30, 40]}}\n{"a": [0.5, 0, 0, 0], "b": [2, 0, 0, 1]}\n',
    );
    const two = await runModelport(
      ['batch', '--model', 'two_input', '--input', file('two.jsonl'), '--output', file('two.out.jsonl')],
      env,
    );
    expect(two.code, two.stderr).toBe(0);
    expect(readJsonLines<OutputLine>(file('two.out.jsonl'))).toEqual([
      { line: 1, id: 'p', output: { sum: [11, 22, 33, 44], product: [10, 40, 90, 160] } },
      { line: 2, output: { sum: [2.5, 0, 0, 1], product: [1, 0, 0, 0] } },
    ]);

    writeFileSync(file('ints.csv'), 'a,b,c\n9007199254740993,-1,0\n');
    const ints = await runModelport(
      ['batch', '--model', 'int64_affine', '--input', file('ints.csv'), '--output', file('ints.out.jsonl')],
      env,
    );
    expect(ints.code, ints.stderr).toBe(0);
    const big = 9007199254740993n * INT64_MUL + INT64_ADD;
    expect(readFileSync(file('ints.out.jsonl'), 'utf8')).toBe(
      `{"line":2,"output":[${big},${-1n * INT64_MUL + INT64_ADD},${INT64_ADD}]}\n`,
    );

    const data = rows(5, 10, seeded(9));
    writeFileSync(file('fixed.jsonl'), data.map((row) => JSON.stringify(row)).join('\n'));
    const fixed = await runModelport(
      [
        'batch',
        '--model',
        'regression10_fixed',
        '--input',
        file('fixed.jsonl'),
        '--output',
        file('fixed.out.jsonl'),
        '--json',
      ],
      env,
    );
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(warningsOf(fixed)).toEqual([
      'model regression10_fixed has a fixed batch size of 1: scoring 1 record(s) per run instead of 64',
    ]);
    checkRegression(
      readJsonLines<OutputLine>(file('fixed.out.jsonl')),
      new Map(data.map((row, i) => [i + 1, row])),
    );
  });

  it('shows a progress bar with records/s and ETA on a terminal, then the summary', async () => {
    const data = rows(3_000, 10, seeded(21));
    writeFileSync(file('tty.jsonl'), `${data.map((row) => JSON.stringify(row)).join('\n')}\n[1]\n`);
    const command = [
      process.execPath,
      MODELPORT_BIN,
      'batch',
      '--model',
      'regression10',
      '--input',
      file('tty.jsonl'),
      '--output',
      file('tty.out.jsonl'),
      '--batch-size',
      '16',
    ]
      .map((a) => `'${a}'`)
      .join(' ');
    // `script` runs the command on a pseudo-terminal, as a person at a shell would.
    const run = spawnSync('script', ['-qec', command, '/dev/null'], {
      env: { ...process.env, ...env, MODELPORT_LOG_LEVEL: 'warn' },
    });
    expect(run.status).toBe(6);
    const screen = run.stdout.toString('utf8').replace(/\r/g, '\n');
    expect(screen).toMatch(
      /scoring \[[█░]+\] \d+% \| [\d]+ records, \d+ rejected \| \d+ records\/s \| ETA (\d+:\d\d|--:--)/,
    );
    expect(screen).toMatch(/Scored 3,000 records, 1 rejected, in [\d.]+ s/);
    expect(screen).toMatch(/line 3001: input 'x' expects 10 values, got 1/);
  });

  it('refuses an existing output (exit 2) unless --overwrite; --resume of a finished run does nothing', async () => {
    writeFileSync(file('small.jsonl'), '[1,2,3,4,5,6,7,8,9,10]\n');
    const args = [
      'batch',
      '--model',
      'regression10',
      '--input',
      file('small.jsonl'),
      '--output',
      file('small.out.jsonl'),
      '--json',
    ];
    expect((await runModelport(args, env)).code).toBe(0);
    const again = await runModelport(args, env);
    expect(again.code).toBe(2);
    expect(again.json().error).toMatchObject({
      code: 'OUTPUT_EXISTS',
      message: `${file('small.out.jsonl')} already exists`,
    });
    const before = readFileSync(file('small.out.jsonl'), 'utf8');
    expect(before).toBe('{"line":1,"output":[24]}\n');

    const resumed = await runModelport([...args, '--resume'], env);
    expect(resumed.code).toBe(0);
    expect(resumed.json().result).toMatchObject({ scored: 1, scoredNow: 0, complete: true });
    expect(warningsOf(resumed)).toEqual([`${file('small.out.jsonl')} is already complete; nothing to do`]);
    expect(readFileSync(file('small.out.jsonl'), 'utf8')).toBe(before);

    expect((await runModelport([...args, '--overwrite'], env)).code).toBe(0);
    expect(readFileSync(file('small.out.jsonl'), 'utf8')).toBe(before);
  });

  it('refuses bad usage before scoring: unknown model (3), missing input (3), unknown format (2), bad batch size (2)', async () => {
    const base = ['--output', file('never.out.jsonl'), '--json'];
    const ghost = await runModelport(
      ['batch', '--model', 'ghost', '--input', file('small.jsonl'), ...base],
      env,
    );
    expect([ghost.code, ghost.json().error?.code]).toEqual([3, 'MODEL_NOT_FOUND']);
    const missing = await runModelport(
      ['batch', '--model', 'regression10', '--input', file('nope.jsonl'), ...base],
      env,
    );
    expect([missing.code, missing.json().error?.code]).toEqual([3, 'INPUT_NOT_FOUND']);
    writeFileSync(file('data.bin'), '[1]');
    const unknown = await runModelport(
      ['batch', '--model', 'regression10', '--input', file('data.bin'), ...base],
      env,
    );
    expect([unknown.code, unknown.json().error?.code]).toEqual([2, 'FORMAT_UNKNOWN']);
    const size = await runModelport(
      ['batch', '--model', 'regression10', '--input', file('small.jsonl'), '--batch-size', '0', ...base],
      env,
    );
    expect([size.code, size.json().error?.code]).toEqual([2, 'NUMBER_INVALID']);
    expect(existsSync(file('never.out.jsonl'))).toBe(false);
  });

  it('fails (exit 1) naming a model onnxruntime cannot load, leaving no output or checkpoint', async () => {
    writeFileSync(file('pairs.jsonl'), '[1, 2]\n');
    const r = await runModelport(
      [
        'batch',
        '--model',
        'unsupported_op',
        '--input',
        file('pairs.jsonl'),
        '--output',
        file('pairs.out.jsonl'),
        '--json',
      ],
      env,
    );
    expect(r.code).toBe(1);
    expect(r.json().error?.code).toBe('MODEL_LOAD_FAILED');
    expect(r.json().error?.message).toMatch(
      /^model 'unsupported_op' cannot be loaded by onnxruntime: .*NoSuchOperator/,
    );
    expect(existsSync(file('pairs.out.jsonl'))).toBe(false);
    expect(existsSync(file('pairs.out.jsonl.checkpoint.json'))).toBe(false);
  });
});
