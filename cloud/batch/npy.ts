import { UsageError } from '../../common/errors.js';
import { fromFloat16Bits, toFloat16Bits } from '../../modules/scoring/float16.js';
import type { TensorValues } from '../../modules/scoring/tensor.js';
import type { InputSlot } from './input-layout.js';

/** A NumPy `.npy` file's header: element type, shape, where the data starts. */
export interface NpyHeader {
  /** 'f' float, 'i' signed int, 'u' unsigned int, 'b' bool. */
  kind: 'f' | 'i' | 'u' | 'b';
  itemSize: number;
  littleEndian: boolean;
  /** As written, e.g. '<f4'. */
  descr: string;
  shape: number[];
  dataOffset: number;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

/** Bytes to read to be sure the whole header is in hand (headers are short; v2+ may be longer). */
export const NPY_PREAMBLE_BYTES = 12;

/**
 * Parses the header from the first bytes of a file (`bytes` must hold at least the preamble; when the
 * header is longer than given, the needed length is returned instead so the caller can read more).
 */
export function parseNpyHeader(bytes: Buffer, file: string): NpyHeader | { needBytes: number } {
  const bad = (why: string) =>
    new UsageError('NPY_INVALID', `${file} is not a .npy file numpy writes: ${why}`, {
      hint: 'write it with numpy.save(path, array) from a C-ordered numeric array',
    });
  if (bytes.length < 10 || !bytes.subarray(0, 6).equals(MAGIC))
    throw bad('it does not start with \\x93NUMPY');
  const major = bytes[6] as number;
  if (major < 1 || major > 3) throw bad(`format version ${major} is unknown`);
  const lengthBytes = major === 1 ? 2 : 4;
  const preamble = 8 + lengthBytes;
  if (bytes.length < preamble) return { needBytes: preamble };
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const dataOffset = preamble + headerLength;
  if (bytes.length < dataOffset) return { needBytes: dataOffset };
  const header = bytes.toString(major === 3 ? 'utf8' : 'latin1', preamble, dataOffset);
  const descr = /'descr'\s*:\s*'([<>|=])([fiub])(\d+)'/.exec(header);
  if (!descr) throw bad(`its dtype is not a plain number type (header ${header.trim()})`);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  if (fortran?.[1] === 'True')
    throw bad('it is in Fortran order; save a C-ordered array (numpy.ascontiguousarray)');
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!shapeText) throw bad('its header has no shape');
  const shape = (shapeText[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw bad(`its shape (${shapeText[1]}) is not valid`);
  const kind = descr[2] as NpyHeader['kind'];
  const itemSize = Number(descr[3]);
  const known: Record<string, number[]> = { f: [2, 4, 8], i: [1, 2, 4, 8], u: [1, 2, 4, 8], b: [1] };
  if (!known[kind]?.includes(itemSize)) throw bad(`dtype ${descr[1]}${kind}${itemSize} is not supported`);
  return {
    kind,
    itemSize,
    // '|' (byte-sized) and '=' (native: every platform onnxruntime-node runs on is little-endian).
    littleEndian: descr[1] !== '>',
    descr: `${descr[1]}${kind}${itemSize}`,
    shape,
    dataOffset,
  };
}

/** Rows, and values per row, of an npy array read as one record per row (the first axis). */
export function npyRows(header: NpyHeader): { rows: number; rowSize: number } {
  const [rows, ...rest] = header.shape;
  if (rows === undefined) return { rows: 1, rowSize: 1 };
  return { rows, rowSize: rest.reduce((a, b) => a * b, 1) };
}

type Reader = (view: DataView, at: number) => number | bigint;

/**
 * Copies npy rows into an input's row storage, converting the element type. Floats feed float inputs;
 * integers feed integer or float inputs; bools feed bool inputs. Anything else is refused up front.
 * Returns a reject reason for a value the input cannot hold (an integer out of range), else undefined.
 */
export class NpyRowWriter {
  private readonly read: Reader;
  private readonly fastCopy: boolean;

  constructor(
    private readonly header: NpyHeader,
    private readonly slot: InputSlot,
    file: string,
  ) {
    const target = slot.type;
    const floatTarget = target === 'float32' || target === 'float64' || target === 'float16';
    const intTarget = /^u?int(8|16|32|64)$/.test(target);
    const fits =
      (header.kind === 'f' && floatTarget) ||
      ((header.kind === 'i' || header.kind === 'u') && (floatTarget || intTarget)) ||
      (header.kind === 'b' && target === 'bool');
    if (!fits) {
      throw new UsageError(
        'NPY_TYPE_MISMATCH',
        `${file} holds ${header.descr} values, which cannot feed input '${slot.name}' (${target})`,
      );
    }
    this.read = readerFor(header);
    const sameType =
      (target === 'float32' && header.descr === '<f4') ||
      (target === 'float64' && header.descr === '<f8') ||
      (target === 'float16' && header.descr === '<f2');
    this.fastCopy = sameType;
  }

  /** Writes the row at `bytes[at, at + rowBytes)` into `storage` from `offset`. */
  write(bytes: Buffer, at: number, storage: TensorValues, offset: number): string | undefined {
    const n = this.slot.sampleSize;
    const size = this.header.itemSize;
    if (this.fastCopy) {
      // Same element type and byte order: the row's bytes are the tensor's bytes.
      const target = storage as Float32Array | Float64Array | Uint16Array;
      const dst = new Uint8Array(target.buffer, target.byteOffset + offset * size, n * size);
      dst.set(bytes.subarray(at, at + n * size));
      return undefined;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) {
      const raw = this.read(view, at + i * size);
      const reason = this.store(storage, offset + i, raw, i);
      if (reason !== undefined) return reason;
    }
    return undefined;
  }

  private store(
    storage: TensorValues,
    index: number,
    raw: number | bigint,
    position: number,
  ): string | undefined {
    const type = this.slot.type;
    if (type === 'int64' || type === 'uint64') {
      const big = typeof raw === 'bigint' ? raw : BigInt(raw);
      if ((type === 'uint64' && big < 0n) || (type === 'int64' && big > 2n ** 63n - 1n)) {
        return `value at [${position}] (${big}) does not fit input '${this.slot.name}' (${type})`;
      }
      (storage as BigInt64Array)[index] = big;
      return undefined;
    }
    const value = Number(raw);
    if (type === 'float16') {
      (storage as Uint16Array)[index] = toFloat16Bits(value);
      return undefined;
    }
    if (type === 'float32' || type === 'float64' || type === 'bool') {
      (storage as Float32Array)[index] = value;
      return undefined;
    }
    const bits = Number(/\d+/.exec(type)?.[0] ?? 32);
    const unsigned = type.startsWith('u');
    const min = unsigned ? 0 : -(2 ** (bits - 1));
    const max = unsigned ? 2 ** bits - 1 : 2 ** (bits - 1) - 1;
    if (value < min || value > max) {
      return `value at [${position}] (${value}) does not fit input '${this.slot.name}' (${type})`;
    }
    (storage as Int32Array)[index] = value;
    return undefined;
  }
}

function readerFor(h: NpyHeader): Reader {
  const le = h.littleEndian;
  switch (`${h.kind}${h.itemSize}`) {
    case 'f2':
      return (v, at) => fromFloat16Bits(v.getUint16(at, le));
    case 'f4':
      return (v, at) => v.getFloat32(at, le);
    case 'f8':
      return (v, at) => v.getFloat64(at, le);
    case 'i1':
      return (v, at) => v.getInt8(at);
    case 'i2':
      return (v, at) => v.getInt16(at, le);
    case 'i4':
      return (v, at) => v.getInt32(at, le);
    case 'i8':
      return (v, at) => v.getBigInt64(at, le);
    case 'u1':
    case 'b1':
      return (v, at) => v.getUint8(at);
    case 'u2':
      return (v, at) => v.getUint16(at, le);
    case 'u4':
      return (v, at) => v.getUint32(at, le);
    default:
      return (v, at) => v.getBigUint64(at, le);
  }
}
