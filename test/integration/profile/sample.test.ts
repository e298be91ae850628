import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSample } from '../../../cloud/profile/sample.js';
import type { OnnxSummary } from '../../../cloud/registry/types.js';
import { tempDir } from '../../support/tmp.js';

const work = tempDir('profile-sample');
const file = (name: string, text: string) => {
  writeFileSync(join(work.path, name), text);
  return join(work.path, name);
};
afterAll(() => work.cleanup());

const onnx = (inputs: OnnxSummary['inputs']): OnnxSummary => ({
  file: 'm.onnx',
  irVersion: 8,
  opsets: [],
  producerName: '',
  producerVersion: '',
  inputs,
  outputs: [{ name: 'y', elementType: 'float32', shape: ['N', 1] }],
});
const regression = {
  name: 'regression10',
  version: 1,
  onnx: onnx([{ name: 'x', elementType: 'float32', shape: ['N', 10] }]),
};
const twoInput = {
  name: 'two_input',
  version: 1,
  onnx: onnx([
    { name: 'a', elementType: 'float32', shape: ['N', 4] },
    { name: 'b', elementType: 'float32', shape: ['N', 4] },
  ]),
};
const row = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

describe('profile samples', () => {
  it('reads one body, or several as JSON lines, keeping each body’s text as sent', async () => {
    const one = await loadSample(file('one.json', `  {"data": [${JSON.stringify(row)}]}\n`), regression);
    expect(one.bodies).toEqual([`{"data": [${JSON.stringify(row)}]}`]);
    expect(one.facts).toMatchObject({
      requests: 1,
      rowsPerRequest: { min: 1, max: 1 },
      inputs: [{ name: 'x', type: 'float32', shape: [1, 10] }],
    });

    const lines = [
      JSON.stringify({ data: [row] }),
      '',
      JSON.stringify({ data: [row, row, row] }),
      JSON.stringify({ x: row }),
    ];
    const several = await loadSample(file('several.jsonl', lines.join('\n')), regression);
    expect(several.bodies).toEqual([lines[0], lines[2], lines[3]]);
    expect(several.facts).toMatchObject({ requests: 3, rowsPerRequest: { min: 1, max: 3 } });

    const multi = await loadSample(
      file('multi.json', JSON.stringify({ data: { a: [[1, 2, 3, 4]], b: [[5, 6, 7, 8]] } })),
      twoInput,
    );
    expect(multi.facts.inputs.map((i) => i.name)).toEqual(['a', 'b']);
  });

  it.each([
    ['an empty file', 'empty.json', '\n', 'SAMPLE_EMPTY', 2, /is empty/],
    [
      'a broken JSON line',
      'broken.jsonl',
      `${JSON.stringify({ data: [row] })}\n{"data": [\n`,
      'SAMPLE_INVALID',
      2,
      /line 2 is not valid JSON/,
    ],
    [
      'a body without data',
      'nodata.json',
      '{"rows": []}',
      'SAMPLE_INVALID',
      2,
      /sample nodata.json does not fit model regression10:1: the body has no "data" field/,
    ],
    [
      'a non-number',
      'text.json',
      '{"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, "ten"]]}',
      'SAMPLE_INVALID',
      2,
      /input 'x' takes float32 numbers/,
    ],
  ])('refuses %s', async (_name, name, text, code, exitCode, message) => {
    const error = await loadSample(file(name, text), regression).catch((e: unknown) => e);
    expect(error).toMatchObject({ code, exitCode });
    expect((error as Error).message).toMatch(message);
  });

  it('refuses a missing input of a multi-input model, and a missing file (exit 3)', async () => {
    const missing = await loadSample(
      file('half.json', JSON.stringify({ data: { a: [[1, 2, 3, 4]] } })),
      twoInput,
    ).catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(/input 'b' is missing; the model takes 'a', 'b'/);
    expect(await loadSample(join(work.path, 'none.json'), regression).catch((e: unknown) => e)).toMatchObject(
      {
        code: 'SAMPLE_NOT_FOUND',
        exitCode: 3,
      },
    );
  });
});
