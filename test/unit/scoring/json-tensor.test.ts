import { describe, expect, it } from 'vitest';
import { tensorFromFlat, tensorFromNested } from '../../../modules/scoring/json-tensor.js';

describe('JSON tensors', () => {
  it('takes a bare value for a scalar input', () => {
    const t = tensorFromNested(0.5, { name: 'temperature', type: 'float32', shape: [] });
    expect(t.dims).toEqual([]);
    expect(Array.from(t.data as Float32Array)).toEqual([0.5]);
    expect(() => tensorFromNested('hot', { name: 'temperature', type: 'float32', shape: [] })).toThrow(
      /takes float32 numbers/,
    );
  });

  it('refuses rows before allocating for them', () => {
    // The first row claims 1,000 columns; the rest are short: no 10,000 × 1,000 allocation happens.
    const rows = [Array(1000).fill(0), ...Array(9999).fill([0])];
    expect(() => tensorFromNested(rows, { name: 'x', type: 'float64', shape: ['N', null] })).toThrow(
      /should be an array of 1000/,
    );
  });

  it('counts flat values before allocating for a claimed shape', () => {
    expect(() => tensorFromFlat([1, 2, 3], [1_000_000, 10], 'float64', 'x')).toThrow(/limit|has 3 values/);
    expect(() => tensorFromFlat([1, 2, 3], [2, 2], 'float32', 'x')).toThrow(
      /has 3 values but its shape \[2,2\] holds 4/,
    );
  });
});
