import { CNN, MNIST, REGRESSION_B, REGRESSION_W } from './onnx/fixtures.js';
import { conv3x3, gemm, maxPool2, relu, softmaxRows } from './reference-math.js';

/** Expected outputs of the fixture models, computed in plain JS. */
export function regression10Expected(rows: number[][]): number[] {
  return Array.from(gemm(rows.flat(), rows.length, 10, REGRESSION_W, 1, [REGRESSION_B]));
}

export function mnistExpected(x: Float32Array, n: number): Float64Array {
  const h = relu(gemm(x, n, 784, MNIST.w1, 128, MNIST.b1));
  return softmaxRows(gemm(h, n, 128, MNIST.w2, 10, MNIST.b2), 10);
}

/** One 28×28 image through the CNN. */
export function cnnExpected(image: Float32Array): Float64Array {
  let a: Float64Array = Float64Array.from(image);
  a = relu(conv3x3(a, 1, 28, 28, CNN.c1.w, CNN.c1.b, CNN.c1.out));
  a = relu(conv3x3(a, 32, 28, 28, CNN.c2.w, CNN.c2.b, CNN.c2.out));
  a = relu(conv3x3(a, 64, 28, 28, CNN.c3.w, CNN.c3.b, CNN.c3.out));
  a = maxPool2(a, 128, 28, 28);
  a = relu(conv3x3(a, 128, 14, 14, CNN.c4.w, CNN.c4.b, CNN.c4.out));
  a = maxPool2(a, 128, 14, 14);
  a = relu(conv3x3(a, 128, 7, 7, CNN.c5.w, CNN.c5.b, CNN.c5.out));
  return gemm(a, 1, 128 * 7 * 7, CNN.dense.w, 10, CNN.dense.b);
}

/** The guide's sample request rows. */
export const GUIDE_SAMPLE = [
  [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  [10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
];
