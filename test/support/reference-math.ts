/**
 * Plain-JS reference implementations of the fixture models' operators, so tests compute expected
 * outputs independently of onnxruntime.
 */

/** y[n][j] = sum_k x[n][k] * w[k][j] + b[j]  (w is [K, J] row-major, as Gemm's B). */
export function gemm(
  x: ArrayLike<number>,
  n: number,
  k: number,
  w: Float32Array,
  j: number,
  b: ArrayLike<number>,
): Float64Array {
  const out = new Float64Array(n * j);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < j; c++) {
      let sum = Number(b[b.length === 1 ? 0 : c]);
      for (let i = 0; i < k; i++) sum += Number(x[r * k + i]) * (w[i * j + c] ?? 0);
      out[r * j + c] = sum;
    }
  }
  return out;
}

export function relu(v: Float64Array): Float64Array {
  return v.map((x) => Math.max(x, 0));
}

export function softmaxRows(v: Float64Array, cols: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let r = 0; r < v.length / cols; r++) {
    const row = v.subarray(r * cols, (r + 1) * cols);
    const max = Math.max(...row);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += Math.exp((row[c] ?? 0) - max);
    for (let c = 0; c < cols; c++) out[r * cols + c] = Math.exp((row[c] ?? 0) - max) / sum;
  }
  return out;
}

/** 3×3 convolution, stride 1, padding 1, one image in CHW layout. */
export function conv3x3(
  input: Float64Array,
  cin: number,
  h: number,
  w: number,
  weights: Float32Array,
  bias: Float32Array,
  cout: number,
): Float64Array {
  const out = new Float64Array(cout * h * w);
  for (let o = 0; o < cout; o++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let sum = bias[o] ?? 0;
        for (let i = 0; i < cin; i++) {
          for (let ky = 0; ky < 3; ky++) {
            const iy = y + ky - 1;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < 3; kx++) {
              const ix = x + kx - 1;
              if (ix < 0 || ix >= w) continue;
              sum += (input[(i * h + iy) * w + ix] ?? 0) * (weights[((o * cin + i) * 3 + ky) * 3 + kx] ?? 0);
            }
          }
        }
        out[(o * h + y) * w + x] = sum;
      }
    }
  }
  return out;
}

/** 2×2 max pooling, stride 2, CHW. */
export function maxPool2(input: ArrayLike<number>, c: number, h: number, w: number): Float64Array {
  const oh = Math.floor(h / 2);
  const ow = Math.floor(w / 2);
  const out = new Float64Array(c * oh * ow);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const at = (yy: number, xx: number) => input[(ch * h + yy) * w + xx] ?? Number.NEGATIVE_INFINITY;
        out[(ch * oh + y) * ow + x] = Math.max(
          at(2 * y, 2 * x),
          at(2 * y, 2 * x + 1),
          at(2 * y + 1, 2 * x),
          at(2 * y + 1, 2 * x + 1),
        );
      }
    }
  }
  return out;
}

/** Asserts every value is within `rel` relative (or `abs` absolute) tolerance; returns the worst error. */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] ?? 0;
    const e = expected[i] ?? 0;
    worst = Math.max(worst, Math.abs(a - e) / Math.max(1e-3, Math.abs(e)));
  }
  return worst;
}
