import { describe, expect, it } from 'vitest';
import type { InputSlot } from '../../../cloud/batch/input-layout.js';
import { NpyRowWriter, npyRows, parseNpyHeader } from '../../../cloud/batch/npy.js';
import { float32Bytes, npyBytes } from './npy-bytes.js';

const slot = (type: string, size: number): InputSlot => ({
  name: 'x',
  type: type as InputSlot['type'],
  shape: ['N', size],
  sampleDims: [size],
  sampleSize: size,
});

function header(bytes: Buffer) {
  const h = parseNpyHeader(bytes, 'a.npy');
  if ('needBytes' in h) throw new Error('header incomplete');
  return h;
}

describe('npy header', () => {
  it('reads dtype, shape and data offset of version 1 and 2 files', () => {
    const file = npyBytes('<f4', [3, 10], float32Bytes(new Array(30).fill(1)));
    const v1 = header(file);
    expect(v1).toMatchObject({ kind: 'f', itemSize: 4, littleEndian: true, descr: '<f4', shape: [3, 10] });
    expect(v1.dataOffset).toBe(file.length - 120);
    expect(v1.dataOffset % 64).toBe(0);
    expect(npyRows(v1)).toEqual({ rows: 3, rowSize: 10 });
    const file2 = npyBytes('>i8', [2, 2, 2], new Uint8Array(64), { version: 2 });
    const v2 = header(file2);
    expect(v2).toMatchObject({ kind: 'i', itemSize: 8, littleEndian: false, shape: [2, 2, 2] });
    expect(v2.dataOffset).toBe(file2.length - 64);
    expect(npyRows(v2)).toEqual({ rows: 2, rowSize: 4 });
    expect(npyRows(header(npyBytes('<f8', [5], new Uint8Array(40))))).toEqual({ rows: 5, rowSize: 1 });
  });

  it('asks for more bytes when the header is longer than what it was given', () => {
    const bytes = npyBytes('<f4', [1, 1], float32Bytes([1]));
    expect(parseNpyHeader(bytes.subarray(0, 20), 'a.npy')).toEqual({ needBytes: bytes.length - 4 });
  });

  it.each([
    ['not npy at all', Buffer.from('hello world, this is text'), /does not start with/],
    [
      'Fortran order',
      npyBytes('<f4', [2, 2], float32Bytes([1, 2, 3, 4]), { fortran: true }),
      /Fortran order/,
    ],
    [
      'a structured dtype',
      npyBytes('', [1], new Uint8Array(4), {
        dict: "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
      }),
      /not a plain number type/,
    ],
    ['a complex dtype', npyBytes('<c8', [1], new Uint8Array(8)), /not a plain number type/],
  ])('refuses %s (exit 2)', (_name, bytes, message) => {
    expect(() => parseNpyHeader(bytes, 'a.npy')).toThrow(message);
    try {
      parseNpyHeader(bytes, 'a.npy');
    } catch (e) {
      expect(e).toMatchObject({ code: 'NPY_INVALID', exitCode: 2 });
    }
  });
});

describe('npy rows into input storage', () => {
  it('copies rows of the same type byte for byte', () => {
    const bytes = npyBytes('<f4', [2, 3], float32Bytes([1, 2, 3, 4.5, 5, 6]));
    const h = header(bytes);
    const out = new Float32Array(6);
    const w = new NpyRowWriter(h, slot('float32', 3), 'a.npy');
    expect(w.write(bytes, h.dataOffset + 12, out, 3)).toBeUndefined();
    expect(Array.from(out)).toEqual([0, 0, 0, 4.5, 5, 6]);
  });

  it('converts types and byte order: float64 → float32, big-endian int32 → float32, int64 → int64 exactly', () => {
    const f8 = Buffer.from(new Float64Array([0.1, 2]).buffer);
    const h1 = header(npyBytes('<f8', [1, 2], f8));
    const out = new Float32Array(2);
    new NpyRowWriter(h1, slot('float32', 2), 'a.npy').write(
      npyBytes('<f8', [1, 2], f8),
      h1.dataOffset,
      out,
      0,
    );
    expect(Array.from(out)).toEqual([Math.fround(0.1), 2]);

    const be = Buffer.alloc(8);
    be.writeInt32BE(-7, 0);
    be.writeInt32BE(300, 4);
    const h2 = header(npyBytes('>i4', [1, 2], be));
    const out2 = new Float32Array(2);
    new NpyRowWriter(h2, slot('float32', 2), 'a.npy').write(
      npyBytes('>i4', [1, 2], be),
      h2.dataOffset,
      out2,
      0,
    );
    expect(Array.from(out2)).toEqual([-7, 300]);

    const i8 = Buffer.from(new BigInt64Array([9007199254740993n, -2n]).buffer);
    const h3 = header(npyBytes('<i8', [1, 2], i8));
    const out3 = new BigInt64Array(2);
    new NpyRowWriter(h3, slot('int64', 2), 'a.npy').write(
      npyBytes('<i8', [1, 2], i8),
      h3.dataOffset,
      out3,
      0,
    );
    expect(Array.from(out3)).toEqual([9007199254740993n, -2n]);
  });

  it('rejects a value the input cannot hold, and refuses a dtype that cannot feed the input', () => {
    const i4 = Buffer.from(new Int32Array([1, 70000]).buffer);
    const bytes = npyBytes('<i4', [1, 2], i4);
    const h = header(bytes);
    const reason = new NpyRowWriter(h, slot('int16', 2), 'a.npy').write(
      bytes,
      h.dataOffset,
      new Int16Array(2),
      0,
    );
    expect(reason).toBe("value at [1] (70000) does not fit input 'x' (int16)");
    const floats = header(npyBytes('<f4', [1, 2], float32Bytes([1, 2])));
    expect(() => new NpyRowWriter(floats, slot('int64', 2), 'a.npy')).toThrow(
      "a.npy holds <f4 values, which cannot feed input 'x' (int64)",
    );
  });
});
