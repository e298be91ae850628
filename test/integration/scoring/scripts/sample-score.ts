// TypeScript entry script with InferenceSchema-style samples: run() gets Float32Array rows.
export const inputSample = [Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])];
export const outputSample = [0.5];

export function init(): void {}

export function run(data: Float32Array[]): number[] {
  if (!data.every((row) => row instanceof Float32Array)) throw new Error('rows are not Float32Array');
  return data.map((row) => row.reduce((a, b) => a + b, 0));
}
