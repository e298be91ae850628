// Several named inputs (InferenceSchema with two parameters): run() gets one object.
export const inputSample = { ids: BigInt64Array.from([1n, 2n]), label: 'cat', scale: 1.5 };
export const outputSample = { count: 2, label: 'cat' };

export function init() {}

export function run(input) {
  return { count: input.ids.length, label: input.label, first: input.ids[0], scaled: input.scale * 2 };
}
