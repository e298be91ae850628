import { allocate, elementCount, type TensorData, type TensorValues } from '../tensor.js';

/**
 * Requests can share one session.run when every input has the same element type and the same
 * dimensions after the first, and they ask for the same outputs. This key says which queue
 * entries may be coalesced.
 */
export function batchKey(inputs: Record<string, TensorData>, outputs: readonly string[] | undefined): string {
  let key = outputs ? outputs.join(',') : '*';
  for (const name in inputs) {
    const t = inputs[name] as TensorData;
    key += `|${name}:${t.type}`;
    for (let axis = 1; axis < t.dims.length; axis++) key += `x${t.dims[axis]}`;
  }
  return key;
}

/** Rows in a request: the first dimension of its first input (scalars count as one). */
export function rowsOf(inputs: Record<string, TensorData>): number {
  for (const name in inputs) return (inputs[name] as TensorData).dims[0] ?? 1;
  return 1;
}

/** Stacks tensors of the same type and trailing dims along dimension 0 (one copy, no intermediate). */
export function concatRows(parts: readonly TensorData[]): TensorData {
  const first = parts[0] as TensorData;
  let rows = 0;
  for (const p of parts) rows += p.dims[0] ?? 1;
  const dims = [rows, ...first.dims.slice(1)];
  const data = allocate(first.type, elementCount(dims));
  let offset = 0;
  if (Array.isArray(data)) {
    for (const p of parts) {
      const values = p.data as string[];
      for (let i = 0; i < values.length; i++) data[offset + i] = values[i] as string;
      offset += values.length;
    }
  } else {
    for (const p of parts) {
      (data as Float32Array).set(p.data as Float32Array, offset);
      offset += p.data.length;
    }
  }
  return { type: first.type, dims, data };
}

/** Rows [start, start + rows) of a batched output, as a view over its storage (no copy). */
export function sliceRows(t: TensorData, start: number, rows: number): TensorData {
  const total = t.dims[0] ?? 1;
  const rowSize = total === 0 ? 0 : t.data.length / total;
  const from = start * rowSize;
  const to = from + rows * rowSize;
  const data: TensorValues = Array.isArray(t.data)
    ? t.data.slice(from, to)
    : (t.data as Float32Array).subarray(from, to);
  return { type: t.type, dims: [rows, ...t.dims.slice(1)], data };
}
