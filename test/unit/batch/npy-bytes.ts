/**
 * Writes .npy bytes the way numpy.save does (version 1.0 header padded to 64 bytes, ending in '\n'),
 * for tests of the npy reader. `data` is the array's raw little- or big-endian bytes.
 */
export function npyBytes(
  descr: string,
  shape: number[],
  data: Uint8Array,
  options: { fortran?: boolean; version?: 1 | 2; dict?: string } = {},
): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header =
    options.dict ??
    `{'descr': '${descr}', 'fortran_order': ${options.fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const version = options.version ?? 1;
  const preamble = version === 1 ? 10 : 12;
  const total = Math.ceil((preamble + header.length + 1) / 64) * 64;
  header = `${header.padEnd(total - preamble - 1, ' ')}\n`;
  const head = Buffer.alloc(preamble);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]).copy(head, 0);
  head[6] = version;
  head[7] = 0;
  if (version === 1) head.writeUInt16LE(header.length, 8);
  else head.writeUInt32LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data)]);
}

export function float32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
