import { describe, expect, it } from 'vitest';
import { BatchBuilder } from '../../../cloud/batch/batch-builder.js';
import { CsvRecordDecoder, csvFields, isCsvHeader } from '../../../cloud/batch/csv-record.js';
import { type InputLayout, layoutFor } from '../../../cloud/batch/input-layout.js';
import { JsonlRecordDecoder } from '../../../cloud/batch/jsonl-record.js';
import type { TensorInfo } from '../../../cloud/registry/onnx-metadata.js';

const t = (name: string, elementType: string, shape: TensorInfo['shape']): TensorInfo => ({
  name,
  elementType,
  shape,
});

function layout(inputs: TensorInfo[], batch = 4, outputs = [t('y', 'float32', ['N', 1])]): InputLayout {
  return layoutFor({ name: 'm', inputs, outputs }, batch).layout;
}

const REGRESSION = layout([t('x', 'float32', ['N', 10])]);
const TWO_INPUT = layout([t('a', 'float32', ['N', 4]), t('b', 'float32', ['N', 4])]);
const ROW = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

/** Decodes lines into one batch; returns the reasons (undefined for accepted) and the batch. */
function decodeJsonl(l: InputLayout, lines: string[]) {
  const decoder = new JsonlRecordDecoder(l);
  const builder = new BatchBuilder(l);
  const reasons = lines.map((text, i) => {
    const b = Buffer.from(text);
    return decoder.decode(b, 0, b.length, builder, { line: i + 1 });
  });
  return { reasons, batch: builder.take() };
}

describe('JSON-lines records', () => {
  it('accepts an array, an object by input name, and either under "data", echoing ids', () => {
    const { reasons, batch } = decodeJsonl(REGRESSION, [
      JSON.stringify(ROW),
      JSON.stringify({ x: ROW }),
      JSON.stringify({ id: 'r3', data: ROW }),
      JSON.stringify({ id: 4, data: { x: ROW } }),
    ]);
    expect(reasons).toEqual([undefined, undefined, undefined, undefined]);
    expect(batch.records).toEqual([{ line: 1 }, { line: 2 }, { line: 3, id: '"r3"' }, { line: 4, id: '4' }]);
    expect(batch.inputs.x?.dims).toEqual([4, 10]);
    expect(Array.from(batch.inputs.x?.data as Float32Array)).toEqual([...ROW, ...ROW, ...ROW, ...ROW]);
  });

  it('accepts a single row in its batched form ([[…]]) and multi-input objects', () => {
    const one = decodeJsonl(REGRESSION, [JSON.stringify([ROW])]);
    expect(one.reasons).toEqual([undefined]);
    const two = decodeJsonl(TWO_INPUT, [
      JSON.stringify({ id: 'p', data: { a: [1, 2, 3, 4], b: [5, 6, 7, 8] } }),
    ]);
    expect(two.reasons).toEqual([undefined]);
    expect(Array.from(two.batch.inputs.b?.data as Float32Array)).toEqual([5, 6, 7, 8]);
    expect(two.batch.inputs.a?.dims).toEqual([1, 4]);
  });

  it.each([
    ['wrong arity', JSON.stringify(ROW.slice(1)), "input 'x' expects 10 values, got 9"],
    [
      'a non-number',
      JSON.stringify([...ROW.slice(0, 3), 'abc', ...ROW.slice(4)]),
      `input 'x' value at [3] is not a number ("abc")`,
    ],
    ['null', JSON.stringify([...ROW.slice(0, 9), null]), "input 'x' value at [9] is not a number (null)"],
    ['broken JSON', '[1, 2, 3', /^not valid JSON \(/],
    ['a scalar', '42', 'a record must be an array or an object, not 42'],
    [
      'an object id',
      JSON.stringify({ id: { a: 1 }, data: ROW }),
      '"id" must be a string or a number, not an object',
    ],
    [
      'extra fields beside data',
      JSON.stringify({ data: ROW, note: 'x' }),
      'a record with "data" may carry only "id" beside it, not "note"',
    ],
    ['an unknown input', JSON.stringify({ z: ROW }), "the model has no input named 'z'; it takes 'x'"],
    ['several rows', JSON.stringify([ROW, ROW]), /^input 'x' holds 2 rows; a record is one row \[10\]/],
    ['a wrong inner shape', JSON.stringify([[1, 2]]), /input 'x'/],
  ])('rejects %s with a reason naming the problem', (_name, line, reason) => {
    const { reasons, batch } = decodeJsonl(REGRESSION, [line]);
    if (typeof reason === 'string') expect(reasons[0]).toBe(reason);
    else expect(reasons[0]).toMatch(reason);
    expect(batch.records).toEqual([]);
  });

  it('names what a multi-input model needs', () => {
    expect(decodeJsonl(TWO_INPUT, ['[1,2,3,4]']).reasons[0]).toMatch(
      /this model takes 'a', 'b': send \{"a": \[…\], "b": \[…\]\}/,
    );
    expect(decodeJsonl(TWO_INPUT, [JSON.stringify({ a: [1, 2, 3, 4] })]).reasons[0]).toBe(
      "input 'b' is missing; the model takes 'a', 'b'",
    );
  });

  it('keeps int64 values exact (digit strings beyond 2^53) and checks nested per-record shapes', () => {
    const ints = layout([t('x', 'int64', ['N', 3])]);
    const { reasons, batch } = decodeJsonl(ints, ['[1, "9007199254740993", -5]']);
    expect(reasons).toEqual([undefined]);
    expect(Array.from(batch.inputs.x?.data as BigInt64Array)).toEqual([1n, 9007199254740993n, -5n]);
    const image = layout([t('img', 'float32', ['N', 1, 2, 2])]);
    const ok = decodeJsonl(image, ['[[[1,2],[3,4]]]', '[[[1,2],[3]]]']);
    expect(ok.reasons[0]).toBeUndefined();
    expect(ok.reasons[1]).toMatch(/img/);
    expect(Array.from(ok.batch.inputs.img?.data as Float32Array)).toEqual([1, 2, 3, 4]);
  });
});

describe('CSV records', () => {
  const decode = (l: InputLayout, lines: string[]) => {
    const decoder = new CsvRecordDecoder(l);
    const builder = new BatchBuilder(l);
    const reasons = lines.map((text, i) => decoder.decode(text, builder, { line: i + 1 }));
    return { reasons, batch: builder.take() };
  };

  it('treats a first line as a header only when none of its fields is a number', () => {
    expect(isCsvHeader('x1,x2,x3')).toBe(true);
    expect(isCsvHeader('"a", "b"')).toBe(true);
    expect(isCsvHeader('1,2,3')).toBe(false);
    expect(isCsvHeader('x1,2,x3')).toBe(false);
    expect(isCsvHeader('')).toBe(false);
  });

  it('fills inputs in order from numeric columns (quoted, spaced, exponent forms)', () => {
    const { reasons, batch } = decode(TWO_INPUT, ['1, 2 ,"3",4e0,.5,-6,7.,+8']);
    expect(reasons).toEqual([undefined]);
    expect(Array.from(batch.inputs.a?.data as Float32Array)).toEqual([1, 2, 3, 4]);
    expect(Array.from(batch.inputs.b?.data as Float32Array)).toEqual([0.5, -6, 7, 8]);
    expect(csvFields('"1" , 2')).toEqual(['1', '2']);
  });

  it.each([
    ['too few columns', '1,2,3,4,5,6,7,8,9', 'expected 10 values, got 9'],
    ['too many columns', '1,2,3,4,5,6,7,8,9,10,11', 'expected 10 values, got 11'],
    ['text', '1,2,3,x,5,6,7,8,9,10', `column 4 ("x") is not a number for input 'x'`],
    ['an empty field', '1,2,3,,5,6,7,8,9,10', `column 4 ("") is not a number for input 'x'`],
  ])('rejects %s', (_name, line, reason) => {
    expect(decode(REGRESSION, [line]).reasons[0]).toBe(reason);
  });

  it('reads int64 columns exactly and range-checks small integer types', () => {
    const ints = layout([t('x', 'int64', ['N', 2])]);
    const r = decode(ints, ['9223372036854775807,-9223372036854775808', '1.5,2']);
    expect(Array.from(r.batch.inputs.x?.data as BigInt64Array)).toEqual([
      9223372036854775807n,
      -9223372036854775808n,
    ]);
    expect(r.reasons[1]).toBe(`column 1 ("1.5") is not an int64 integer for input 'x'`);
    const bytes = layout([t('x', 'uint8', ['N', 2])]);
    expect(decode(bytes, ['255,256']).reasons[0]).toBe(
      `column 2 ("256") is not a uint8 integer for input 'x'`,
    );
  });
});

describe('input layout', () => {
  it('takes the batch size, or a fixed batch dimension (with a warning)', () => {
    expect(
      layoutFor({ name: 'm', inputs: [t('x', 'float32', ['N', 10])], outputs: [] }, 64).layout,
    ).toMatchObject({
      batchSize: 64,
      fixedBatch: undefined,
      recordWidth: 10,
    });
    const fixed = layoutFor({ name: 'm', inputs: [t('x', 'float32', [1, 10])], outputs: [] }, 64);
    expect(fixed.layout).toMatchObject({ batchSize: 1, fixedBatch: 1 });
    expect(fixed.warnings).toEqual([
      'model m has a fixed batch size of 1: scoring 1 record(s) per run instead of 64',
    ]);
  });

  it.each([
    [
      'a dynamic feature dimension',
      [t('x', 'float32', ['N', 'M'])],
      'MODEL_INPUT_DYNAMIC',
      /dynamic dimension 1/,
    ],
    ['no shape', [t('x', 'float32', null)], 'MODEL_INPUT_UNBATCHED', /no declared shape/],
    ['a non-tensor input', [t('x', 'sequence', null)], 'MODEL_INPUT_UNSUPPORTED', /type sequence/],
    [
      'conflicting fixed batches',
      [t('a', 'float32', [1, 2]), t('b', 'float32', [2, 2])],
      'MODEL_BATCH_INCONSISTENT',
      /different fixed batch sizes \(1, 2\)/,
    ],
  ])('refuses a model with %s (exit 2)', (_name, inputs, code, message) => {
    let error: unknown;
    try {
      layoutFor({ name: 'm', inputs, outputs: [] }, 8);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code, exitCode: 2 });
    expect((error as Error).message).toMatch(message);
  });
});
