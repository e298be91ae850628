import { describe, expect, it } from 'vitest';
import { readOnnxMetadata } from '../../../cloud/registry/onnx-metadata.js';
import { buildModelBytes } from '../../support/onnx/builder.js';
import { fixtureBytes, regression10Spec } from '../../support/onnx/fixtures.js';

describe('readOnnxMetadata', () => {
  it('reads inputs, outputs, opset and producer of a model', () => {
    const meta = readOnnxMetadata(fixtureBytes('two_input'));
    expect(meta.irVersion).toBe(8);
    expect(meta.opsets).toEqual([{ domain: 'ai.onnx', version: 17 }]);
    expect(meta.producerName).toBe('modelport-test-fixtures');
    expect(meta.inputs).toEqual([
      { name: 'a', elementType: 'float32', shape: ['N', 4] },
      { name: 'b', elementType: 'float32', shape: ['N', 4] },
    ]);
    expect(meta.outputs.map((o) => o.name)).toEqual(['sum', 'product']);
  });

  it('reports int64 and string element types and fixed dims', () => {
    expect(readOnnxMetadata(fixtureBytes('int64_affine')).inputs[0]).toEqual({
      name: 'x',
      elementType: 'int64',
      shape: ['N', 3],
    });
    expect(readOnnxMetadata(fixtureBytes('string_identity')).inputs[0]?.elementType).toBe('string');
    expect(readOnnxMetadata(fixtureBytes('regression10_fixed')).inputs[0]?.shape).toEqual([1, 10]);
  });

  it('leaves out initializers listed as graph inputs (models before IR 4)', () => {
    const spec = regression10Spec();
    spec.inputs.push({ name: 'W', type: 'float32', shape: [10, 1] });
    expect(readOnnxMetadata(buildModelBytes(spec)).inputs.map((i) => i.name)).toEqual(['x']);
  });

  it('keeps unknown dims as null', () => {
    const spec = regression10Spec();
    spec.inputs = [{ name: 'x', type: 'float32', shape: [null, 10] }];
    expect(readOnnxMetadata(buildModelBytes(spec)).inputs[0]?.shape).toEqual([null, 10]);
  });

  it.each([
    ['text', Buffer.from('this is not an onnx model at all\n')],
    ['empty', Buffer.alloc(0)],
    ['truncated model', Buffer.from(fixtureBytes('mnist_mlp').subarray(0, 5000))],
    ['random bytes', Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 97 + 13) % 256))],
  ])('refuses %s with ONNX_INVALID', (_label, bytes) => {
    expect(() => readOnnxMetadata(bytes, 'upload.onnx')).toThrow(
      expect.objectContaining({ code: 'ONNX_INVALID' }),
    );
  });
});
