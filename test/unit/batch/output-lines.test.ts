import { describe, expect, it } from 'vitest';
import { outputLines, rejectLines } from '../../../cloud/batch/output-lines.js';
import { nestedJson } from '../../../modules/scoring/json-tensor.js';

describe('output lines', () => {
  it('writes one line per record in order, with id and file when present, formatted as the server formats', () => {
    const data = Float32Array.from([0.1, 2, Number.NaN, -3.5, 1e-8, 7]);
    const text = outputLines(
      { y: { type: 'float32', dims: [3, 2], data } },
      ['y'],
      [{ line: 1 }, { line: 3, id: '"a"' }, { file: 'part-2.jsonl', line: 1, id: '7' }],
    );
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(
      `{"line":1,"output":${nestedJson({ type: 'float32', dims: [2], data: data.subarray(0, 2) })}}`,
    );
    expect(JSON.parse(lines[0] as string)).toEqual({ line: 1, output: [Math.fround(0.1), 2] });
    expect(JSON.parse(lines[1] as string)).toEqual({ line: 3, id: 'a', output: [null, -3.5] });
    expect(lines[2]).toMatch(/^\{"file":"part-2.jsonl","line":1,"id":7,"output":\[/);
  });

  it('writes an object by output name for several outputs, int64 exact, and drops padding rows', () => {
    const text = outputLines(
      {
        sum: { type: 'float32', dims: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
        big: { type: 'int64', dims: [2, 1], data: BigInt64Array.from([9007199254740993n, -1n]) },
      },
      ['sum', 'big'],
      [{ line: 5 }],
    );
    expect(text).toBe('{"line":5,"output":{"sum":[1,2],"big":[9007199254740993]}}\n');
  });

  it('writes a per-record scalar for outputs shaped [N] and nested rows for [N, a, b]', () => {
    expect(
      outputLines(
        { p: { type: 'float64', dims: [2], data: Float64Array.from([0.5, 1.5]) } },
        ['p'],
        [{ line: 1 }, { line: 2 }],
      ),
    ).toBe('{"line":1,"output":0.5}\n{"line":2,"output":1.5}\n');
    expect(
      outputLines(
        { m: { type: 'float32', dims: [1, 2, 2], data: Float32Array.from([1, 2, 3, 4]) } },
        ['m'],
        [{ line: 1 }],
      ),
    ).toBe('{"line":1,"output":[[1,2],[3,4]]}\n');
  });

  it('refuses an output without a row per record', () => {
    expect(() =>
      outputLines(
        { s: { type: 'float32', dims: [1], data: Float32Array.from([1]) } },
        ['s'],
        [{ line: 1 }, { line: 2 }],
      ),
    ).toThrow(/output 's' has shape \[1\], not one row per record/);
  });

  it('writes rejects as {"line", "reason"} lines', () => {
    expect(
      rejectLines([
        { line: 17, reason: 'expected 10 values, got 9' },
        { file: 'b.csv', line: 2, reason: 'x "y"' },
      ]),
    ).toBe(
      '{"line":17,"reason":"expected 10 values, got 9"}\n{"file":"b.csv","line":2,"reason":"x \\"y\\""}\n',
    );
  });
});
