import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildModelBytes, type ModelSpec, randomWeights } from './builder.js';

/**
 * The test models, written from code. Every model has a symbolic batch dimension `N` except
 * `regression10_fixed`. Weights are exposed so tests compute expected outputs themselves.
 */

// The guide's Ridge regression shape: 10 features → 1 prediction, y = x·w + b.
export const REGRESSION_W = Float32Array.from([0.5, -0.25, 1, 0.75, -0.5, 0.125, 0.25, -1, 2, 0.5]);
export const REGRESSION_B = 3;

export function regression10Spec(
  weights = REGRESSION_W,
  bias = REGRESSION_B,
  batch: number | string = 'N',
): ModelSpec {
  return {
    graphName: 'regression10',
    inputs: [{ name: 'x', type: 'float32', shape: [batch, 10] }],
    outputs: [{ name: 'y', type: 'float32', shape: [batch, 1] }],
    initializers: [
      { name: 'W', type: 'float32', dims: [10, 1], values: weights },
      { name: 'B', type: 'float32', dims: [1], values: [bias] },
    ],
    nodes: [{ op: 'Gemm', inputs: ['x', 'W', 'B'], outputs: ['y'] }],
  };
}

// MNIST-shaped MLP: 784 → 128 (Relu) → 10 (Softmax).
export const MNIST = {
  w1: randomWeights(784 * 128, 11, 0.05),
  b1: randomWeights(128, 12, 0.1),
  w2: randomWeights(128 * 10, 13, 0.2),
  b2: randomWeights(10, 14, 0.1),
};

export function mnistMlpSpec(): ModelSpec {
  return {
    graphName: 'mnist_mlp',
    inputs: [{ name: 'input', type: 'float32', shape: ['N', 784] }],
    outputs: [{ name: 'probabilities', type: 'float32', shape: ['N', 10] }],
    initializers: [
      { name: 'W1', type: 'float32', dims: [784, 128], values: MNIST.w1 },
      { name: 'B1', type: 'float32', dims: [128], values: MNIST.b1 },
      { name: 'W2', type: 'float32', dims: [128, 10], values: MNIST.w2 },
      { name: 'B2', type: 'float32', dims: [10], values: MNIST.b2 },
    ],
    nodes: [
      { op: 'Gemm', inputs: ['input', 'W1', 'B1'], outputs: ['h1'] },
      { op: 'Relu', inputs: ['h1'], outputs: ['a1'] },
      { op: 'Gemm', inputs: ['a1', 'W2', 'B2'], outputs: ['logits'] },
      { op: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attributes: { axis: 1 } },
    ],
  };
}

// A small but compute-bound CNN (~108 M multiply-adds per image, over 1 ms per batch-1 run on the
// 2-core test machines): conv 1→32, 32→64, 64→128 @28², pool, conv 128→128 @14², pool,
// conv 128→128 @7², dense 6272 → 10.
interface ConvLayer {
  out: number;
  in: number;
  w: Float32Array;
  b: Float32Array;
}

function convLayer(out: number, inp: number, seed: number): ConvLayer {
  return {
    out,
    in: inp,
    w: randomWeights(out * inp * 9, seed, Math.sqrt(2 / (inp * 9))),
    b: randomWeights(out, seed + 1, 0.05),
  };
}

export const CNN = {
  c1: convLayer(32, 1, 21),
  c2: convLayer(64, 32, 23),
  c3: convLayer(128, 64, 25),
  c4: convLayer(128, 128, 27),
  c5: convLayer(128, 128, 29),
  dense: { w: randomWeights(128 * 7 * 7 * 10, 31, 0.02), b: randomWeights(10, 32, 0.05) },
};

export function cnnSmallSpec(): ModelSpec {
  const conv = (name: string, c: ConvLayer) => [
    { name: `${name}_w`, type: 'float32' as const, dims: [c.out, c.in, 3, 3], values: c.w },
    { name: `${name}_b`, type: 'float32' as const, dims: [c.out], values: c.b },
  ];
  const convAttrs = { kernel_shape: [3, 3], pads: [1, 1, 1, 1] };
  const poolAttrs = { kernel_shape: [2, 2], strides: [2, 2] };
  return {
    graphName: 'cnn_small',
    inputs: [{ name: 'image', type: 'float32', shape: ['N', 1, 28, 28] }],
    outputs: [{ name: 'logits', type: 'float32', shape: ['N', 10] }],
    initializers: [
      ...conv('c1', CNN.c1),
      ...conv('c2', CNN.c2),
      ...conv('c3', CNN.c3),
      ...conv('c4', CNN.c4),
      ...conv('c5', CNN.c5),
      { name: 'dense_w', type: 'float32', dims: [128 * 7 * 7, 10], values: CNN.dense.w },
      { name: 'dense_b', type: 'float32', dims: [10], values: CNN.dense.b },
    ],
    nodes: [
      { op: 'Conv', inputs: ['image', 'c1_w', 'c1_b'], outputs: ['c1'], attributes: convAttrs },
      { op: 'Relu', inputs: ['c1'], outputs: ['r1'] },
      { op: 'Conv', inputs: ['r1', 'c2_w', 'c2_b'], outputs: ['c2'], attributes: convAttrs },
      { op: 'Relu', inputs: ['c2'], outputs: ['r2'] },
      { op: 'Conv', inputs: ['r2', 'c3_w', 'c3_b'], outputs: ['c3'], attributes: convAttrs },
      { op: 'Relu', inputs: ['c3'], outputs: ['r3'] },
      { op: 'MaxPool', inputs: ['r3'], outputs: ['p3'], attributes: poolAttrs },
      { op: 'Conv', inputs: ['p3', 'c4_w', 'c4_b'], outputs: ['c4'], attributes: convAttrs },
      { op: 'Relu', inputs: ['c4'], outputs: ['r4'] },
      { op: 'MaxPool', inputs: ['r4'], outputs: ['p4'], attributes: poolAttrs },
      { op: 'Conv', inputs: ['p4', 'c5_w', 'c5_b'], outputs: ['c5'], attributes: convAttrs },
      { op: 'Relu', inputs: ['c5'], outputs: ['r5'] },
      { op: 'Flatten', inputs: ['r5'], outputs: ['flat'], attributes: { axis: 1 } },
      { op: 'Gemm', inputs: ['flat', 'dense_w', 'dense_b'], outputs: ['logits'] },
    ],
  };
}

// Two inputs, two outputs: sum = a + b, product = a * b.
export function twoInputSpec(): ModelSpec {
  return {
    graphName: 'two_input',
    inputs: [
      { name: 'a', type: 'float32', shape: ['N', 4] },
      { name: 'b', type: 'float32', shape: ['N', 4] },
    ],
    outputs: [
      { name: 'sum', type: 'float32', shape: ['N', 4] },
      { name: 'product', type: 'float32', shape: ['N', 4] },
    ],
    nodes: [
      { op: 'Add', inputs: ['a', 'b'], outputs: ['sum'] },
      { op: 'Mul', inputs: ['a', 'b'], outputs: ['product'] },
    ],
  };
}

// int64 in, int64 out: y = x * 3 + 7 (exact integer arithmetic, beyond float precision on purpose).
export const INT64_MUL = 3n;
export const INT64_ADD = 7n;

export function int64AffineSpec(): ModelSpec {
  return {
    graphName: 'int64_affine',
    inputs: [{ name: 'x', type: 'int64', shape: ['N', 3] }],
    outputs: [{ name: 'y', type: 'int64', shape: ['N', 3] }],
    initializers: [
      { name: 'k', type: 'int64', dims: [1], values: [INT64_MUL] },
      { name: 'c', type: 'int64', dims: [1], values: [INT64_ADD] },
    ],
    nodes: [
      { op: 'Mul', inputs: ['x', 'k'], outputs: ['scaled'] },
      { op: 'Add', inputs: ['scaled', 'c'], outputs: ['y'] },
    ],
  };
}

// Identity over any element type: for protocol tests of every tensor type (string included).
export function identitySpec(type: string, width = 3): ModelSpec {
  return {
    graphName: `identity_${type}`,
    inputs: [{ name: 'x', type, shape: ['N', width] }],
    outputs: [{ name: 'y', type, shape: ['N', width] }],
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
  };
}

// A graph onnxruntime cannot load: an operator no kernel implements.
export function unsupportedOpSpec(): ModelSpec {
  return {
    graphName: 'unsupported_op',
    inputs: [{ name: 'x', type: 'float32', shape: ['N', 2] }],
    outputs: [{ name: 'y', type: 'float32', shape: ['N', 2] }],
    nodes: [{ op: 'NoSuchOperator', inputs: ['x'], outputs: ['y'], domain: 'com.example.missing' }],
    extraOpsets: [{ domain: 'com.example.missing', version: 1 }],
  };
}

export const FIXTURES = {
  regression10: () => regression10Spec(),
  regression10_fixed: () => ({
    ...regression10Spec(REGRESSION_W, REGRESSION_B, 1),
    graphName: 'regression10_fixed',
  }),
  mnist_mlp: mnistMlpSpec,
  cnn_small: cnnSmallSpec,
  two_input: twoInputSpec,
  int64_affine: int64AffineSpec,
  string_identity: () => identitySpec('string'),
  unsupported_op: unsupportedOpSpec,
} satisfies Record<string, () => ModelSpec>;

export type FixtureName = keyof typeof FIXTURES;

export function fixtureBytes(name: FixtureName): Uint8Array {
  return buildModelBytes(FIXTURES[name]());
}

/** Writes `<dir>/<name>.onnx` and returns its path. */
export async function writeFixture(name: FixtureName, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}.onnx`);
  await writeFile(path, fixtureBytes(name));
  return path;
}

export async function writeModel(spec: ModelSpec, path: string): Promise<string> {
  await writeFile(path, buildModelBytes(spec));
  return path;
}
