import { badInput } from './errors.js';
import { allocate, type ElementType, elementCount, MAX_TENSOR_ELEMENTS, type TensorData } from './tensor.js';

/**
 * The Open Inference Protocol's binary tensor data extension (KServe / Triton): the body is a JSON
 * header of `Inference-Header-Content-Length` bytes followed by raw tensors, each announced in the
 * header by `parameters.binary_data_size`. Tensors are little-endian, row-major, unpadded; BOOL is
 * one byte per element; BYTES elements are a 4-byte little-endian length and then the bytes.
 */
export const INFER_HEADER_LENGTH = 'inference-header-content-length';

const ELEMENT_BYTES: Record<string, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  uint64: 8,
  bool: 1,
};

/** Splits a body into its JSON header and binary tail; every length is checked before slicing. */
export function splitInferBody(body: Buffer, headerLength: string): { header: Buffer; binary: Buffer } {
  if (!/^[0-9]{1,12}$/.test(headerLength.trim())) {
    throw badInput(
      'HEADER_LENGTH_INVALID',
      `Inference-Header-Content-Length '${headerLength.slice(0, 20)}' is not a byte count`,
    );
  }
  const n = Number(headerLength);
  if (n > body.length) {
    throw badInput(
      'HEADER_LENGTH_INVALID',
      `Inference-Header-Content-Length is ${n} but the body has only ${body.length} bytes`,
    );
  }
  return { header: body.subarray(0, n), binary: body.subarray(n) };
}

/** A tensor from its raw bytes; the byte count must be exactly what the shape and type need. */
export function tensorFromBinary(
  bytes: Buffer,
  dims: readonly number[],
  type: ElementType,
  name: string,
): TensorData {
  const count = elementCount(dims);
  if (count > MAX_TENSOR_ELEMENTS) {
    throw badInput(
      'INPUT_TOO_LARGE',
      `input '${name}' has ${count} elements; the limit is ${MAX_TENSOR_ELEMENTS}`,
    );
  }
  if (type === 'string') return { type, dims: [...dims], data: stringsFromBinary(bytes, count, name) };
  const size = ELEMENT_BYTES[type] ?? 1;
  if (bytes.length !== count * size) {
    throw badInput(
      'BINARY_SIZE_MISMATCH',
      `input '${name}' has ${bytes.length} bytes of binary data but shape [${dims}] of ${type} needs ${count * size}`,
    );
  }
  const data = allocate(type, count);
  // Copied into storage of its own: aligned for the typed view, and movable to a worker.
  new Uint8Array((data as Uint8Array).buffer).set(bytes);
  if (type === 'bool') {
    const b = data as Uint8Array;
    for (let i = 0; i < b.length; i++) if (b[i] !== 0) b[i] = 1;
  }
  return { type, dims: [...dims], data };
}

function stringsFromBinary(bytes: Buffer, count: number, name: string): string[] {
  const out = new Array<string>(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 4 > bytes.length) {
      throw badInput(
        'BINARY_SIZE_MISMATCH',
        `input '${name}' ends after ${i} of its ${count} BYTES elements`,
      );
    }
    const length = bytes.readUInt32LE(at);
    at += 4;
    if (at + length > bytes.length) {
      throw badInput(
        'BINARY_SIZE_MISMATCH',
        `input '${name}' element ${i} claims ${length} bytes but only ${bytes.length - at} remain`,
      );
    }
    out[i] = bytes.toString('utf8', at, at + length);
    at += length;
  }
  if (at !== bytes.length) {
    throw badInput(
      'BINARY_SIZE_MISMATCH',
      `input '${name}' has ${bytes.length - at} bytes after its ${count} BYTES elements`,
    );
  }
  return out;
}

/** A tensor's raw bytes for a binary response. */
export function tensorToBinary(t: TensorData): Buffer {
  if (!Array.isArray(t.data)) return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const parts: Buffer[] = [];
  for (const s of t.data as string[]) {
    const text = Buffer.from(s ?? '', 'utf8');
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32LE(text.length, 0);
    parts.push(length, text);
  }
  return Buffer.concat(parts);
}
