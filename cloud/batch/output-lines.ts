import { ModelportError } from '../../common/errors.js';
import { nestedJson } from '../../modules/scoring/json-tensor.js';
import type { TensorData, TensorValues } from '../../modules/scoring/tensor.js';
import type { RecordRef } from './batch-builder.js';
import type { RejectRef } from './record-source.js';

/**
 * One JSON line per scored record, in input order: `{"line": n, "output": …}`, with `"file"` first
 * for folder inputs and `"id"` when the record had one. `output` is the record's row of the model's
 * output (nested arrays, formatted as the scoring server formats them: float32 as String(value), int64
 * with every digit, non-finite as null), or an object by output name when the model has several.
 */
export function outputLines(
  outputs: Record<string, TensorData>,
  outputNames: readonly string[],
  records: readonly RecordRef[],
): string {
  const names = outputNames.filter((n) => n in outputs);
  const rows = names.map((name) => rowsOf(name, outputs[name] as TensorData, records.length));
  let text = '';
  for (let r = 0; r < records.length; r++) {
    const ref = records[r] as RecordRef;
    let output: string;
    if (rows.length === 1) output = (rows[0] as (r: number) => string)(r);
    else
      output = `{${names.map((n, k) => `${JSON.stringify(n)}:${(rows[k] as (r: number) => string)(r)}`).join(',')}}`;
    text += `${prefix(ref)},"output":${output}}\n`;
  }
  return text;
}

export function rejectLines(rejects: readonly RejectRef[]): string {
  let text = '';
  for (const r of rejects) text += `${prefix(r)},"reason":${JSON.stringify(r.reason)}}\n`;
  return text;
}

function prefix(ref: { file?: string; line: number; id?: string }): string {
  const file = ref.file === undefined ? '' : `"file":${JSON.stringify(ref.file)},`;
  const id = ref.id === undefined ? '' : `,"id":${ref.id}`;
  return `{${file}"line":${ref.line}${id}`;
}

/** Record r's row of an output tensor as JSON. */
function rowsOf(name: string, tensor: TensorData, records: number): (r: number) => string {
  const [batch, ...rest] = tensor.dims;
  if (batch === undefined || batch < records) {
    throw new ModelportError(
      'OUTPUT_UNBATCHED',
      `output '${name}' has shape [${tensor.dims.join(', ')}], not one row per record (${records} records in the batch)`,
      { hint: 'batch scoring needs models whose outputs keep the batch dimension first' },
    );
  }
  const size = rest.reduce((a, b) => a * b, 1);
  if (rest.length === 1 && (tensor.type === 'float32' || tensor.type === 'float64')) {
    // The commonest row (a flat float vector) written directly: same text as nestedJson, without the
    // per-record view and arrays, which cost more than the numbers on small models (bench/batch).
    const data = tensor.data as Float32Array | Float64Array;
    return (r) => {
      let text = '[';
      for (let i = r * size, end = i + size; i < end; i++) {
        const v = data[i] as number;
        text += i === r * size ? '' : ',';
        text += Number.isFinite(v) ? String(v) : 'null';
      }
      return `${text}]`;
    };
  }
  return (r) => {
    const data: TensorValues = Array.isArray(tensor.data)
      ? tensor.data.slice(r * size, (r + 1) * size)
      : (tensor.data as Float32Array).subarray(r * size, (r + 1) * size);
    return nestedJson({ type: tensor.type, dims: rest, data });
  };
}
