import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseNumberArray } from '../../../cloud/batch/number-array.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');

function parse(
  text: string,
  expected: number,
  out: Float32Array | Float64Array = new Float64Array(expected),
) {
  const b = bytes(text);
  return { n: parseNumberArray(b, 0, b.length, out, 0, expected), out };
}

describe('parseNumberArray (the fast path for flat numeric JSON rows)', () => {
  it('gives exactly the doubles JSON.parse gives, for any finite doubles as JSON.stringify writes them', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 40 }),
        (values) => {
          const text = JSON.stringify(values);
          const { n, out } = parse(text, values.length);
          expect(n).toBe(values.length);
          expect(Array.from(out)).toEqual(JSON.parse(text));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives the float32 values a Float32Array gets from JSON.parse, for short decimals too', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -99_999_999, max: 99_999_999 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 8 }),
        (ints, decimals) => {
          const text = `[${ints.map((i) => (i / 10 ** decimals).toFixed(decimals)).join(', ')}]`;
          const { n, out } = parse(text, ints.length, new Float32Array(ints.length));
          expect(n).toBe(ints.length);
          expect(Array.from(out)).toEqual(Array.from(Float32Array.from(JSON.parse(text) as number[])));
        },
      ),
    );
  });

  it.each([
    ['exponents', '[1e3, -2.5E-3, 1e+2, 0e0]', [1000, -0.0025, 100, 0]],
    ['whitespace and a CR', ' [ 1 ,2,\t3 ] \r', [1, 2, 3]],
    [
      'long mantissas (Number path)',
      '[0.1234567890123456789, 12345678901234567890]',
      JSON.parse('[0.1234567890123456789, 12345678901234567890]') as number[],
    ],
    ['tiny and huge exponents', '[1e-30, 1.5e300]', [1e-30, 1.5e300]],
    ['negative zero', '[-0, -0.0]', [-0, -0]],
  ])('parses %s', (_name, text, expected) => {
    const { n, out } = parse(text, expected.length);
    expect(n).toBe(expected.length);
    expect(Array.from(out)).toEqual(expected);
  });

  it.each([
    ['a count other than expected (short)', '[1,2]', 3],
    ['a count other than expected (long)', '[1,2,3,4]', 3],
    ['leading zeros, which JSON forbids', '[01,2,3]', 3],
    ['a bare dot', '[1.,2,3]', 3],
    ['a leading dot', '[.5,2,3]', 3],
    ['a plus sign', '[+1,2,3]', 3],
    ['a trailing comma', '[1,2,3,]', 3],
    ['a string', '[1,"2",3]', 3],
    ['null', '[1,null,3]', 3],
    ['NaN', '[1,NaN,3]', 3],
    ['nesting', '[[1,2,3]]', 3],
    ['an object', '{"data":[1,2,3]}', 3],
    ['trailing text', '[1,2,3] x', 3],
    ['an unterminated array', '[1,2,3', 3],
    ['an empty array', '[]', 3],
  ])('leaves %s to the general path (-1)', (_name, text, expected) => {
    expect(parse(text, expected).n).toBe(-1);
  });

  it('writes at the row offset and stays within the byte range given', () => {
    const line = bytes('xx[4,5,6]yy');
    const out = new Float32Array(6);
    expect(parseNumberArray(line, 2, 9, out, 3, 3)).toBe(3);
    expect(Array.from(out)).toEqual([0, 0, 0, 4, 5, 6]);
    // Bytes past the end (the next line, or stale buffer contents) never complete a number or a row.
    expect(parseNumberArray(bytes('[1,2.5]'), 0, 4, new Float64Array(2), 0, 2)).toBe(-1);
    expect(parseNumberArray(bytes('[1,2e5]'), 0, 5, new Float64Array(2), 0, 2)).toBe(-1);
    expect(parseNumberArray(bytes('[1,25]\n'), 0, 5, new Float64Array(2), 0, 2)).toBe(-1);
  });
});
