import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../../modules/scoring/server.js';
import { identitySpec, writeFixture, writeModel } from '../../support/onnx/fixtures.js';
import { tempDir } from '../../support/tmp.js';

const work = tempDir('oip');
let app: FastifyInstance;

const TYPES = [
  'float32',
  'float64',
  'float16',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'bool',
  'string',
] as const;
const OIP: Record<(typeof TYPES)[number], string> = {
  float32: 'FP32',
  float64: 'FP64',
  float16: 'FP16',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  bool: 'BOOL',
  string: 'BYTES',
};
// Values each type carries exactly (FP16 ones are representable in half precision).
const VALUES: Record<(typeof TYPES)[number], unknown[]> = {
  float32: [1.5, -2.25, 3e10, 0.1, 7, -7.5],
  float64: [1.5, -2.25, 0.1, 1e300, 7, 2 ** -1000],
  float16: [0.5, -2, 1024, 0.0999755859375, 65504, -0.00006097555160522461],
  int8: [-128, 127, 0, 5, -5, 1],
  int16: [-32768, 32767, 0, 300, -300, 1],
  int32: [-2147483648, 2147483647, 0, 70000, -70000, 1],
  int64: ['-9223372036854775808', '9223372036854775807', 0, 9007199254740993n.toString(), -1, 1],
  uint8: [0, 255, 1, 2, 3, 4],
  uint16: [0, 65535, 1, 2, 3, 4],
  uint32: [0, 4294967295, 1, 2, 3, 4],
  uint64: ['18446744073709551615', 0, 1, 2, 3, 4],
  bool: [true, false, true, true, false, false],
  string: ['a', 'b', 'ç', '', 'long text with spaces', '✓'],
};

function binaryOf(type: (typeof TYPES)[number], values: unknown[]): Buffer {
  if (type === 'string') {
    return Buffer.concat(
      values.flatMap((v) => {
        const text = Buffer.from(String(v), 'utf8');
        const length = Buffer.alloc(4);
        length.writeUInt32LE(text.length);
        return [length, text];
      }),
    );
  }
  const make: Record<string, (v: unknown[]) => ArrayBufferView> = {
    float32: (v) => Float32Array.from(v as number[]),
    float64: (v) => Float64Array.from(v as number[]),
    float16: (v) => Uint16Array.from(v as number[], (x) => half(x)),
    int8: (v) => Int8Array.from(v as number[]),
    int16: (v) => Int16Array.from(v as number[]),
    int32: (v) => Int32Array.from(v as number[]),
    int64: (v) => BigInt64Array.from(v, (x) => BigInt(x as string)),
    uint8: (v) => Uint8Array.from(v as number[]),
    uint16: (v) => Uint16Array.from(v as number[]),
    uint32: (v) => Uint32Array.from(v as number[]),
    uint64: (v) => BigUint64Array.from(v, (x) => BigInt(x as string)),
    bool: (v) => Uint8Array.from(v as boolean[], (x) => (x ? 1 : 0)),
  };
  const view = (make[type] as (v: unknown[]) => ArrayBufferView)(values);
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

// Half-precision bits of values that are exactly representable (the test's own, independent encoder).
function half(x: number): number {
  if (x === 0) return Object.is(x, -0) ? 0x8000 : 0;
  const sign = x < 0 ? 0x8000 : 0;
  const a = Math.abs(x);
  const e = Math.floor(Math.log2(a));
  if (e < -14) return sign | Math.round(a / 2 ** -24);
  return sign | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
}

function expectedJson(type: (typeof TYPES)[number], values: unknown[]): unknown[] {
  if (type === 'int64' || type === 'uint64') return values.map((v) => Number(v)); // JSON.parse of exact digits
  if (type === 'float32') return values.map((v) => Math.fround(v as number));
  return values;
}

async function binaryInfer(
  name: string,
  header: Record<string, unknown>,
  tail: Buffer,
  headerLength?: number,
) {
  const json = Buffer.from(JSON.stringify(header));
  return app.inject({
    method: 'POST',
    url: `/v2/models/${name}/infer`,
    payload: Buffer.concat([json, tail]),
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(headerLength ?? json.length),
    },
  });
}

function splitBinaryReply(res: { rawPayload: Buffer; headers: Record<string, unknown> }) {
  const n = Number(res.headers['inference-header-content-length']);
  return { header: JSON.parse(res.rawPayload.subarray(0, n).toString()), tail: res.rawPayload.subarray(n) };
}

beforeAll(async () => {
  const models = [];
  for (const type of TYPES) {
    const dir = join(work.path, `id_${type}`, '1');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    models.push({
      name: `id_${type}`,
      version: '1',
      dir,
      file: await writeModel(identitySpec(type, 3), join(dir, 'model.onnx')),
    });
  }
  const twoDir = join(work.path, 'two_input', '1');
  models.push({
    name: 'two_input',
    version: '1',
    dir: twoDir,
    file: await writeFixture('two_input', twoDir),
  });
  app = buildServer({ models, logger: false });
  await app.scoringLoaded;
});
afterAll(async () => {
  await app.close();
  work.cleanup();
});

describe('OIP v2 server and model metadata', () => {
  it('server metadata names the binary extension and where inference runs', async () => {
    const res = (await app.inject({ method: 'GET', url: '/v2' })).json();
    expect(res).toMatchObject({ name: 'modelport', extensions: ['binary_tensor_data'] });
    expect(res.execution.providers.chosen).toEqual(['cpu']);
    expect(res.execution.hardware.cpu.cores).toBeGreaterThan(0);
  });

  it('health, model metadata and readiness, by name and by version', async () => {
    expect((await app.inject({ method: 'GET', url: '/v2/health/live' })).json()).toEqual({ live: true });
    expect((await app.inject({ method: 'GET', url: '/v2/health/ready' })).json()).toEqual({ ready: true });
    const meta = (await app.inject({ method: 'GET', url: '/v2/models/two_input/versions/1' })).json();
    expect(meta).toMatchObject({
      name: 'two_input',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [-1, 4] },
        { name: 'b', datatype: 'FP32', shape: [-1, 4] },
      ],
      parameters: { execution_providers: ['cpu'], max_batch_size: 32 },
    });
    expect((await app.inject({ method: 'GET', url: '/v2/models/two_input/ready' })).json()).toEqual({
      name: 'two_input',
      ready: true,
    });
    expect(
      (await app.inject({ method: 'GET', url: '/v2/models/two_input/versions/1/ready' })).statusCode,
    ).toBe(200);
    const missing = await app.inject({ method: 'GET', url: '/v2/models/two_input/versions/7' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: expect.stringMatching(/version '7' is not served/) });
    expect((await app.inject({ method: 'GET', url: '/v2/models/ghost/ready' })).statusCode).toBe(404);
  });
});

describe('JSON tensors of every datatype', () => {
  it.each(TYPES)('%s round-trips through an identity model', async (type) => {
    const values = VALUES[type];
    const res = await app.inject({
      method: 'POST',
      url: `/v2/models/id_${type}/infer`,
      payload: {
        id: `r-${type}`,
        parameters: { trace: true },
        inputs: [{ name: 'x', shape: [2, 3], datatype: OIP[type], data: values }],
      },
    });
    expect(res.statusCode, res.body).toBe(200);
    const out = res.json();
    expect(out).toMatchObject({ model_name: `id_${type}`, model_version: '1', id: `r-${type}` });
    expect(out.outputs).toEqual([
      { name: 'y', datatype: OIP[type], shape: [2, 3], data: expectedJson(type, values) },
    ]);
  });

  it('keeps int64 digits exact in the reply text', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v2/models/id_int64/infer',
      payload: {
        inputs: [
          {
            name: 'x',
            shape: [1, 3],
            datatype: 'INT64',
            data: ['9007199254740993', -1, '-9223372036854775808'],
          },
        ],
      },
    });
    expect(res.body).toContain('"data":[9007199254740993,-1,-9223372036854775808]');
  });

  it('returns only the requested outputs, in the order asked', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v2/models/two_input/versions/1/infer',
      payload: {
        inputs: [
          { name: 'a', shape: [1, 4], datatype: 'FP32', data: [[1, 2, 3, 4]] },
          { name: 'b', shape: [1, 4], datatype: 'FP32', data: [2, 2, 2, 2] },
        ],
        outputs: [{ name: 'product' }],
      },
    });
    expect(res.json().outputs).toEqual([
      { name: 'product', datatype: 'FP32', shape: [1, 4], data: [2, 4, 6, 8] },
    ]);
  });
});

describe('binary tensor data extension', () => {
  it.each(TYPES)('%s: binary in, binary out', async (type) => {
    const values = VALUES[type];
    const tail = binaryOf(type, values);
    const res = await binaryInfer(
      `id_${type}`,
      {
        inputs: [
          { name: 'x', shape: [2, 3], datatype: OIP[type], parameters: { binary_data_size: tail.length } },
        ],
        outputs: [{ name: 'y', parameters: { binary_data: true } }],
      },
      tail,
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/octet-stream/);
    const { header, tail: bytes } = splitBinaryReply(res);
    expect(header.outputs).toEqual([
      { name: 'y', datatype: OIP[type], shape: [2, 3], parameters: { binary_data_size: tail.length } },
    ]);
    expect(Buffer.compare(bytes, tail)).toBe(0);
  });

  it('binary in, JSON out; and binary_data_output for every output', async () => {
    const a = binaryOf('float32', [1, 2, 3, 4]);
    const b = binaryOf('float32', [10, 20, 30, 40]);
    const header = {
      inputs: [
        { name: 'a', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: a.length } },
        { name: 'b', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: b.length } },
      ],
    };
    const json = await binaryInfer('two_input', header, Buffer.concat([a, b]));
    expect(json.headers['content-type']).toMatch(/application\/json/);
    expect(json.json().outputs[0]).toEqual({
      name: 'sum',
      datatype: 'FP32',
      shape: [1, 4],
      data: [11, 22, 33, 44],
    });
    const all = await binaryInfer(
      'two_input',
      { ...header, parameters: { binary_data_output: true } },
      Buffer.concat([a, b]),
    );
    const { header: h, tail } = splitBinaryReply(all);
    expect(h.outputs.map((o: { name: string }) => o.name)).toEqual(['sum', 'product']);
    expect(Array.from(new Float32Array(tail.buffer.slice(tail.byteOffset, tail.byteOffset + 32)))).toEqual([
      11, 22, 33, 44, 10, 40, 90, 160,
    ]);
  });

  const header = (size: number) => ({
    inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: size } }],
  });
  it.each([
    [
      'a header length beyond the body',
      header(12),
      binaryOf('float32', [1, 2, 3]),
      5000,
      /Inference-Header-Content-Length is 5000/,
    ],
    [
      'a header length that is not a number',
      header(12),
      binaryOf('float32', [1, 2, 3]),
      Number.NaN,
      /is not a byte count/,
    ],
    [
      'binary_data_size beyond the data',
      header(400),
      binaryOf('float32', [1, 2, 3]),
      undefined,
      /claims 400 bytes/,
    ],
    [
      'bytes no input accounts for',
      header(12),
      binaryOf('float32', [1, 2, 3, 4]),
      undefined,
      /4 bytes of binary data that no input/,
    ],
    ['a size that does not fit the shape', header(8), binaryOf('float32', [1, 2]), undefined, /needs 12/],
    ['a negative size', header(-4), binaryOf('float32', [1, 2, 3]), undefined, /non-negative integer/],
  ])('refuses %s with a 400 {"error"}', async (_label, h, tail, length, message) => {
    const res = await binaryInfer(
      'id_float32',
      h,
      tail,
      Number.isNaN(length) ? ('x12' as unknown as number) : length,
    );
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: expect.stringMatching(message) });
  });

  it('refuses truncated BYTES elements', async () => {
    const bytes = binaryOf('string', ['abc', 'de', 'f']).subarray(0, 10);
    const res = await binaryInfer(
      'id_string',
      {
        inputs: [
          { name: 'x', shape: [1, 3], datatype: 'BYTES', parameters: { binary_data_size: bytes.length } },
        ],
      },
      bytes,
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(/claims|ends after/);
  });
});

describe('OIP errors', () => {
  const infer = (name: string, payload: unknown) =>
    app.inject({ method: 'POST', url: `/v2/models/${name}/infer`, payload: payload as string });
  it.each([
    ['unknown model', 'ghost', { inputs: [] }, 404, /not served here/],
    ['no inputs', 'id_float32', { inputs: [] }, 400, /non-empty array/],
    [
      'wrong datatype',
      'id_float32',
      { inputs: [{ name: 'x', shape: [1, 3], datatype: 'INT32', data: [1, 2, 3] }] },
      400,
      /expects FP32/,
    ],
    [
      'unknown datatype',
      'id_float32',
      { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP8', data: [1, 2, 3] }] },
      400,
      /must be one of/,
    ],
    [
      'too few values',
      'id_float32',
      { inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3] }] },
      400,
      /holds 6/,
    ],
    [
      'a huge shape',
      'id_float32',
      { inputs: [{ name: 'x', shape: [1e9, 3], datatype: 'FP32', data: [1, 2, 3] }] },
      400,
      /3 values|limit/,
    ],
    [
      'a wrong fixed dim',
      'id_float32',
      { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] },
      400,
      /dimension 1/,
    ],
    [
      'an unknown output',
      'id_float32',
      { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }], outputs: [{ name: 'z' }] },
      400,
      /no output 'z'/,
    ],
    [
      'an out-of-range int8',
      'id_int8',
      { inputs: [{ name: 'x', shape: [1, 3], datatype: 'INT8', data: [1, 2, 300] }] },
      400,
      /int8 integers/,
    ],
  ])('%s', async (_label, name, payload, status, message) => {
    const res = await infer(name, payload);
    expect(res.statusCode).toBe(status);
    expect(res.json()).toEqual({ error: expect.stringMatching(message) });
  });
});

describe('a model with a sequence output (like skl2onnx ZipMap probabilities)', () => {
  it('returns its tensor outputs and refuses to fetch the sequence', async () => {
    const { buildModelBytes } = await import('../../support/onnx/builder.js');
    const { onnxProto } = await import('../../../cloud/registry/onnx-proto.js');
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const { ModelProto } = onnxProto();
    const bytes = buildModelBytes({
      graphName: 'with_sequence',
      inputs: [{ name: 'x', type: 'float32', shape: ['N', 3] }],
      outputs: [{ name: 'y', type: 'float32', shape: ['N', 3] }],
      nodes: [
        { op: 'Identity', inputs: ['x'], outputs: ['y'] },
        { op: 'SequenceConstruct', inputs: ['x'], outputs: ['items'] },
      ],
    });
    const model = ModelProto.toObject(ModelProto.decode(bytes)) as { graph: { output: unknown[] } };
    model.graph.output.push({
      name: 'items',
      type: { sequence_type: { elem_type: { tensor_type: { elem_type: 1 } } } },
    });
    const dir = join(work.path, 'with_sequence', '1');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'model.onnx');
    writeFileSync(file, ModelProto.encode(ModelProto.fromObject(model)).finish());
    const seqApp = buildServer({
      models: [{ name: 'with_sequence', version: '1', dir, file }],
      logger: false,
    });
    await seqApp.scoringLoaded;
    try {
      const score = await seqApp.inject({ method: 'POST', url: '/score', payload: { data: [[1, 2, 3]] } });
      expect(score.statusCode, score.body).toBe(200);
      expect(score.json()).toEqual([[1, 2, 3]]);
      const meta = (await seqApp.inject({ method: 'GET', url: '/v2/models/with_sequence' })).json();
      expect(meta.outputs.map((o: { name: string }) => o.name)).toEqual(['y']);
      const asked = await seqApp.inject({
        method: 'POST',
        url: '/v2/models/with_sequence/infer',
        payload: {
          inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }],
          outputs: [{ name: 'items' }],
        },
      });
      expect(asked.statusCode).toBe(400);
      expect(asked.json().error).toMatch(/sequence or map/);
    } finally {
      await seqApp.close();
    }
  });
});
