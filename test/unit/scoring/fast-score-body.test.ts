import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModelportError } from '../../../common/errors.js';
import { FastScoreDecoder } from '../../../modules/scoring/fast-score-body.js';
import { decodeScoreBody } from '../../../modules/scoring/score-body.js';
import type { TensorData } from '../../../modules/scoring/tensor.js';
import { servedModel } from './helpers.js';

const model = (type: string, shape: (number | string)[]) => servedModel([{ name: 'x', type, shape }]);

/** The general path's answer: the tensor, or the error code it reports. */
function general(text: string, m: ReturnType<typeof model>): TensorData | string {
  try {
    return decodeScoreBody(JSON.parse(text), m).x as TensorData;
  } catch (e) {
    if (e instanceof SyntaxError) return 'JSON_INVALID';
    if (e instanceof ModelportError) return e.code;
    throw e;
  }
}

describe('the /score fast path', () => {
  const decoder = new FastScoreDecoder();
  const agree = (text: string, m: ReturnType<typeof model>) => {
    const fast = decoder.decode(Buffer.from(text), m);
    const slow = general(text, m);
    if (fast === undefined) return; // gave up: the general path answers, whatever it is
    expect(typeof slow).toBe('object');
    const t = slow as TensorData;
    const f = fast.x as TensorData;
    expect(f.dims).toEqual(t.dims);
    expect(f.type).toBe(t.type);
    expect(Array.from(f.data as Float32Array)).toEqual(Array.from(t.data as Float32Array));
  };

  it('reads exactly what JSON.parse reads, for any numbers and layout (property)', () => {
    const number = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer(),
      fc.constantFrom(0, -0, 1e-7, 123456789012345, 9007199254740993n, 5e-324, 1.7976931348623157e308),
    );
    const layout = fc.record({
      rows: fc.integer({ min: 1, max: 4 }),
      width: fc.integer({ min: 1, max: 6 }),
      space: fc.constantFrom('', ' ', '\n  ', '\t'),
      type: fc.constantFrom('float32', 'float64'),
    });
    fc.assert(
      fc.property(layout, fc.array(number, { minLength: 24, maxLength: 24 }), (l, values) => {
        const rows = Array.from({ length: l.rows }, (_, r) =>
          values.slice(r * l.width, r * l.width + l.width),
        );
        const s = l.space;
        const text = `${s}{${s}"data"${s}:${s}[${rows.map((row) => `[${s}${row.map((v) => (Object.is(v, -0) ? '-0' : String(v))).join(`${s},${s}`)}${s}]`).join(',')}]${s}}${s}`;
        agree(text, model(l.type, ['N', l.width]));
        const fast = decoder.decode(Buffer.from(text), model(l.type, ['N', l.width]));
        expect(fast).toBeDefined();
      }),
      { numRuns: 400, seed: 42 },
    );
  });

  it('agrees with the general path on arbitrary text, or gives up (property)', () => {
    const m = model('float32', ['N', 3]);
    const near = fc.oneof(
      fc.json(),
      fc.string(),
      fc.constantFrom(
        '{"data": [[1,2,3]]}',
        '{"data":[[1e5,2E-3,-0.5]]}',
        '{"data": [[01,2,3]]}',
        '{"data": [[1.,2,3]]}',
        '{"data": [[1,2,3],]}',
      ),
    );
    fc.assert(
      fc.property(near, fc.integer({ min: 0, max: 40 }), (text, cut) => {
        agree(text, m);
        agree(text.slice(0, text.length - (cut % (text.length + 1))), m);
      }),
      { numRuns: 500, seed: 7 },
    );
  });

  it.each([
    ['another key', '{"x": [[1,2,3]]}'],
    ['an escaped key', '{"\\u0064ata": [[1,2,3]]}'],
    ['a second key', '{"data": [[1,2,3]], "data": [[4,5,6]]}'],
    ['ragged rows', '{"data": [[1,2,3],[4,5]]}'],
    ['a leading zero', '{"data": [[01,2,3]]}'],
    ['a bare dot', '{"data": [[1.,2,3]]}'],
    ['a string', '{"data": [[1,"2",3]]}'],
    ['trailing text', '{"data": [[1,2,3]]} x'],
    ['a wrong width', '{"data": [[1,2,3,4]]}'],
    ['nesting past 16', `{"data": ${'['.repeat(20)}1${']'.repeat(20)}}`],
  ])('gives up on %s', (_label, text) => {
    expect(decoder.decode(Buffer.from(text), model('float32', ['N', 3]))).toBeUndefined();
  });

  it('reads one row without its batch dimension, exponents and long numbers exactly', () => {
    const out = decoder.decode(
      Buffer.from('{"data": [1e2, -2.5E-1, 0.30000000000000004]}'),
      model('float64', ['N', 3]),
    );
    expect(out?.x?.dims).toEqual([1, 3]);
    expect(Array.from(out?.x?.data as Float64Array)).toEqual([100, -0.25, 0.30000000000000004]);
  });

  it('leaves models it does not serve to the general path', () => {
    expect(decoder.decode(Buffer.from('{"data": [[1,2,3]]}'), model('int64', ['N', 3]))).toBeUndefined();
    const two = servedModel([
      { name: 'a', type: 'float32', shape: ['N', 3] },
      { name: 'b', type: 'float32', shape: ['N', 3] },
    ]);
    expect(decoder.decode(Buffer.from('{"data": [[1,2,3]]}'), two)).toBeUndefined();
    expect(decoder.decode('{"data": [[1,2,3]]}', model('float32', ['N', 3]))).toBeUndefined();
  });
});
