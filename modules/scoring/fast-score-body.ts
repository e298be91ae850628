import type { ServedModel } from './served-model.js';
import { checkShape, MAX_TENSOR_ELEMENTS, type TensorData } from './tensor.js';

const MAX_DEPTH = 16;
const KEEP_SCRATCH = 1 << 20;
// Exact powers of ten: m / 10^k and m * 10^k round correctly when m < 2^53 and k ≤ 22 (Clinger).
const POW10 = Float64Array.from({ length: 23 }, (_, k) => 10 ** k);
// `{` ws `"data"` ws `:` — matched byte by byte after leading whitespace.
const DATA_KEY = [0x22, 0x64, 0x61, 0x74, 0x61, 0x22];

/**
 * A fast path for the commonest /score body, `{"data": [[n, n, …], …]}` on a model with one
 * float input: the body's bytes are read straight into a typed array, without building the JSON
 * text, the parsed object and its arrays (which at thousands of requests a second cost more than
 * the inference of a small model). It gives up (returns undefined) on anything else (another
 * key, escapes, ragged rows, a shape the model refuses) and the general path then parses the body
 * and reports what is wrong. Numbers are exactly what JSON.parse gives: short ones by Clinger's
 * exact fast path, others by Number() on their text. One scanning function with local state only:
 * this is the hottest loop of the server.
 */
export class FastScoreDecoder {
  private f32: Float32Array = new Float32Array(4096);
  private f64: Float64Array = new Float64Array(4096);

  decode(body: unknown, model: ServedModel): Record<string, TensorData> | undefined {
    const meta = model.inputs.length === 1 ? model.inputs[0] : undefined;
    if (!meta || (meta.type !== 'float32' && meta.type !== 'float64') || !Buffer.isBuffer(body))
      return undefined;
    const wide = meta.type === 'float64';
    const scanned = this.scan(body, wide);
    if (!scanned) return undefined;
    let dims = scanned.dims;
    const rank = meta.shape?.length;
    if (rank !== undefined && dims.length === rank - 1) dims = [1, ...dims];
    try {
      checkShape(meta, dims);
    } catch {
      return undefined; // the general path reports it
    }
    const n = scanned.count;
    const data = wide ? this.f64.slice(0, n) : this.f32.slice(0, n);
    if (this.f32.length > KEEP_SCRATCH) this.f32 = new Float32Array(4096); // a rare large body: let it go
    if (this.f64.length > KEEP_SCRATCH) this.f64 = new Float64Array(4096);
    return { [meta.name]: { type: meta.type, dims, data } };
  }

  /** Scans `{"data": <nested numeric arrays>}`; the values land in the scratch array of the type. */
  private scan(b: Buffer, wide: boolean): { count: number; dims: number[] } | undefined {
    const end = b.length;
    let out: Float32Array | Float64Array = wide ? this.f64 : this.f32;
    let i = 0;
    let c = b[i];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
    if (c !== 0x7b) return undefined; // {
    c = b[++i];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
    for (let k = 0; k < 6; k++) if (b[i + k] !== DATA_KEY[k]) return undefined;
    i += 6;
    c = b[i];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
    if (c !== 0x3a) return undefined; // :
    c = b[++i];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
    if (c !== 0x5b) return undefined; // [

    // dims[d] is the length of every array at depth d (set by the first one closed there);
    // counts[d] counts the elements of the array open at depth d.
    const dims: number[] = [];
    const counts = new Int32Array(MAX_DEPTH);
    let depth = 0;
    let leafDepth = -1;
    let count = 0;
    c = b[++i];
    for (;;) {
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
      if (c === 0x5b) {
        // an element that is an array
        if (leafDepth !== -1 && depth + 1 > leafDepth) return undefined;
        if (++depth >= MAX_DEPTH) return undefined;
        counts[depth] = 0;
        c = b[++i];
        continue;
      }
      // an element that is a number
      if (leafDepth === -1) leafDepth = depth;
      else if (depth !== leafDepth) return undefined;
      const start = i;
      const negative = c === 0x2d;
      if (negative) c = b[++i];
      if (c === undefined || c < 0x30 || c > 0x39) return undefined;
      let mantissa = 0;
      let digits = 0;
      let exponent = 0;
      if (c === 0x30) {
        c = b[++i];
        if (c !== undefined && c >= 0x30 && c <= 0x39) return undefined; // leading zero: not JSON
      } else {
        do {
          mantissa = mantissa * 10 + (c - 0x30);
          digits++;
          c = b[++i];
        } while (c !== undefined && c >= 0x30 && c <= 0x39);
      }
      if (c === 0x2e) {
        c = b[++i];
        if (c === undefined || c < 0x30 || c > 0x39) return undefined;
        do {
          mantissa = mantissa * 10 + (c - 0x30);
          digits++;
          exponent--;
          c = b[++i];
        } while (c !== undefined && c >= 0x30 && c <= 0x39);
      }
      let value: number;
      if (c === 0x65 || c === 0x45) {
        c = b[++i];
        if (c === 0x2d || c === 0x2b) c = b[++i];
        if (c === undefined || c < 0x30 || c > 0x39) return undefined;
        do c = b[++i];
        while (c !== undefined && c >= 0x30 && c <= 0x39);
        value = Number(b.toString('latin1', start, i)); // exponents: the exact, slower way
      } else if (digits > 15) value = Number(b.toString('latin1', start, i));
      else {
        value = exponent === 0 ? mantissa : mantissa / (POW10[-exponent] as number);
        if (negative) value = -value;
      }
      if (count === out.length) {
        if (count >= MAX_TENSOR_ELEMENTS) return undefined;
        const grown: Float32Array | Float64Array = wide
          ? new Float64Array(count * 2)
          : new Float32Array(count * 2);
        grown.set(out);
        out = grown;
        if (wide) this.f64 = grown as Float64Array;
        else this.f32 = grown as Float32Array;
      }
      out[count++] = value;
      counts[depth] = (counts[depth] as number) + 1;

      // after an element: ',' for the next, or ']' closing one or more arrays
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
      while (c === 0x5d) {
        const n = counts[depth] as number;
        const known = dims[depth];
        if (known === undefined) dims[depth] = n;
        else if (known !== n) return undefined; // ragged
        if (depth === 0) {
          c = b[++i];
          while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
          if (c !== 0x7d) return undefined; // }
          c = b[++i];
          while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
          if (i !== end || count === 0) return undefined;
          let expected = 1;
          for (const d of dims) expected *= d;
          return expected === count ? { count, dims } : undefined;
        }
        depth--;
        counts[depth] = (counts[depth] as number) + 1;
        c = b[++i];
        while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
      }
      if (c !== 0x2c) return undefined; // ,
      c = b[++i];
    }
  }
}
