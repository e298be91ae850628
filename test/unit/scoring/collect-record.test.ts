/** Collection settings, field policies, record encoding and capture per route: pure. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { captureScore, captureScript, captureV2 } from '../../../modules/scoring/collect/capture.js';
import { encodeRecord, MAX_MESSAGE_BYTES } from '../../../modules/scoring/collect/encode.js';
import { applyFieldPolicy } from '../../../modules/scoring/collect/record.js';
import { collectFromEnv, parseFields, parseRate } from '../../../modules/scoring/collect/settings.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const EDGE = {
  EdgeHubConnectionString:
    'HostName=h;GatewayHostName=localhost:8883;DeviceId=d;ModuleId=m;SharedAccessKey=a2V5',
};

describe('collection settings from the environment', () => {
  it('collects nothing by default, and names why a rate without a hub collects nothing', () => {
    expect(collectFromEnv({})).toEqual({});
    expect(collectFromEnv({ ...EDGE, MODELPORT_COLLECT_RATE: '0' })).toEqual({});
    expect(collectFromEnv({ MODELPORT_COLLECT_RATE: '0.5' }).unsent).toMatch(
      /MODELPORT_COLLECT_RATE=0.5 but this is no IoT Edge module/,
    );
  });

  it('sends to the edge hub under IoT Edge (either runtime), with the deployed models naming script records', () => {
    const { collect } = collectFromEnv(
      {
        ...EDGE,
        MODELPORT_COLLECT_RATE: '0.25',
        MODELPORT_COLLECT_FIELDS: '{"customerId":"hash","ssn":"drop"}',
      },
      { models: [{ name: 'ridge', version: '3' }] },
    );
    expect(collect).toEqual({
      rate: 0.25,
      fields: { customerId: 'hash', ssn: 'drop' },
      queueLimit: 10_000,
      target: { kind: 'edge-hub', output: 'collect' },
      scriptModel: { name: 'ridge', version: '3' },
    });
    expect(
      collectFromEnv({
        IOTEDGE_WORKLOADURI: 'unix:///var/run/iotedge/workload.sock',
        MODELPORT_COLLECT_RATE: '1',
      }).collect?.target,
    ).toEqual({
      kind: 'edge-hub',
      output: 'collect',
    });
  });

  it('a folder (modelport serve --collect-dir) wins, and collects everything unless a rate says otherwise', () => {
    expect(collectFromEnv({}, { dir: '/tmp/c' }).collect).toMatchObject({
      rate: 1,
      target: { kind: 'dir', dir: '/tmp/c' },
    });
    expect(
      collectFromEnv(
        { ...EDGE, MODELPORT_COLLECT_RATE: '0.1' },
        {
          dir: '/tmp/c',
          models: [
            { name: 'a', version: '1' },
            { name: 'b', version: '2' },
          ],
        },
      ).collect,
    ).toMatchObject({
      rate: 0.1,
      target: { kind: 'dir', dir: '/tmp/c' },
      scriptModel: { name: 'a+b', version: '1+2' },
    });
    expect(collectFromEnv({}, { dir: '/tmp/c' }).collect?.scriptModel).toEqual({
      name: 'entry-script',
      version: '',
    });
  });

  it.each([
    [{ MODELPORT_COLLECT_RATE: '1.5' }, "MODELPORT_COLLECT_RATE='1.5' is not a number from 0 to 1"],
    [{ MODELPORT_COLLECT_RATE: 'half' }, "MODELPORT_COLLECT_RATE='half' is not a number from 0 to 1"],
    [{ MODELPORT_COLLECT_FIELDS: '{x:hash}' }, 'is not JSON like {"customerId": "hash", "ssn": "drop"}'],
    [{ MODELPORT_COLLECT_FIELDS: '["x"]' }, 'is not a JSON object of input name'],
    [{ MODELPORT_COLLECT_FIELDS: '{"x":"mask"}' }, `input 'x' has "mask", not "keep", "drop" or "hash"`],
    [{ MODELPORT_COLLECT_QUEUE: '0' }, "MODELPORT_COLLECT_QUEUE='0' is not an integer ≥ 1"],
  ])('refuses %j with a usage error (exit 2)', (env, message) => {
    expect(() => collectFromEnv({ ...EDGE, MODELPORT_COLLECT_RATE: '1', ...env })).toThrow(message);
    try {
      collectFromEnv({ ...EDGE, MODELPORT_COLLECT_RATE: '1', ...env });
    } catch (e) {
      expect(e).toMatchObject({ code: 'CONFIG_INVALID', exitCode: 2 });
    }
  });

  it('parses rates and field maps alone (the CLI flags reuse them)', () => {
    expect(parseRate('0')).toBe(0);
    expect(parseRate('1')).toBe(1);
    expect(() => parseRate('', '--collect-rate')).toThrow("--collect-rate='' is not a number from 0 to 1");
    expect(parseFields('{"*":"drop","x":"keep"}')).toEqual({ '*': 'drop', x: 'keep' });
  });
});

describe('field policies', () => {
  it('keeps, drops and hashes inputs (hash = sha256 hex of the canonical JSON); unlisted inputs are kept', () => {
    const inputs = { a: [[1, 2]], b: { z: 1, y: [2] }, c: 'secret', d: 4 };
    const out = applyFieldPolicy(inputs, { b: 'hash', c: 'drop' });
    expect(out).toEqual({ a: [[1, 2]], b: sha('{"y":[2],"z":1}'), d: 4 });
    // Key order does not change the hash: records can be joined on it.
    expect(applyFieldPolicy({ b: { y: [2], z: 1 } }, { b: 'hash' }).b).toBe(out.b);
  });

  it('"*" sets the policy of inputs not named', () => {
    expect(applyFieldPolicy({ a: 1, b: 2, c: 3 }, { '*': 'drop', a: 'keep', c: 'hash' })).toEqual({
      a: 1,
      c: sha('3'),
    });
  });
});

describe('record encoding', () => {
  const record = {
    model: 'ridge',
    version: '1',
    requestId: 'r-1',
    time: '2026-01-01T00:00:00.000Z',
    inputs: {},
    outputs: [1],
  };

  it('carries model, version and request id as properties, and a message id of its own', () => {
    const a = encodeRecord(record, MAX_MESSAGE_BYTES);
    const b = encodeRecord(record, MAX_MESSAGE_BYTES);
    expect(JSON.parse(a?.body ?? '')).toEqual(record);
    expect(a?.properties).toEqual({ model: 'ridge', version: '1', requestId: 'r-1' });
    expect(a?.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(a?.messageId).not.toBe(b?.messageId);
  });

  it('refuses a record over IoT Hub’s 256 KB for the hub, not for a file', () => {
    const big = { ...record, inputs: { x: 'y'.repeat(MAX_MESSAGE_BYTES) } };
    expect(encodeRecord(big, MAX_MESSAGE_BYTES)).toBeUndefined();
    expect(encodeRecord(big)).toBeDefined();
  });
});

describe('capture', () => {
  it('/score with one input: {"data": rows} is that input; the reply is the outputs', () => {
    expect(captureScore('{"data":[[1,2],[3,4]]}', '[[0.5],[0.7]]', ['x'])).toEqual({
      inputs: {
        x: [
          [1, 2],
          [3, 4],
        ],
      },
      outputs: [[0.5], [0.7]],
    });
    expect(captureScore(Buffer.from('{"data":{"x":[[1]]}}'), '[[1]]', ['x'])).toEqual({
      inputs: { x: [[1]] },
      outputs: [[1]],
    });
  });

  it('/score with several inputs: by name, under "data" or at the top level', () => {
    const reply = '{"y":[[1]],"z":[2]}';
    expect(captureScore('{"data":{"a":[[1]],"b":[["s"]]}}', reply, ['a', 'b'])).toEqual({
      inputs: { a: [[1]], b: [['s']] },
      outputs: { y: [[1]], z: [2] },
    });
    expect(captureScore('{"a":[[1]],"b":[["s"]]}', reply, ['a', 'b'])?.inputs).toEqual({
      a: [[1]],
      b: [['s']],
    });
  });

  it('/score that cannot be read gives nothing', () => {
    expect(captureScore('not json', '[1]', ['x'])).toBeUndefined();
    expect(captureScore('{"data":[1]}', 'not json', ['x'])).toBeUndefined();
    expect(captureScore('{"data":[[1]]}', '[1]', ['a', 'b'])).toBeUndefined();
  });

  it('OIP v2: tensors by name, model and version from the reply', () => {
    const body = JSON.stringify({
      id: 'q',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }],
    });
    const reply = JSON.stringify({
      model_name: 'ridge',
      model_version: '4',
      id: 'q',
      outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 1], data: [0.5] }],
    });
    expect(captureV2(body, undefined, reply, undefined)).toEqual({
      model: 'ridge',
      version: '4',
      inputs: { x: { datatype: 'FP32', shape: [1, 2], data: [1, 2] } },
      outputs: { y: { datatype: 'FP32', shape: [1, 1], data: [0.5] } },
    });
  });

  it('OIP v2 binary tensor data: the tensor bytes as base64', () => {
    const header = JSON.stringify({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } }],
    });
    const bytes = Buffer.from(new Float32Array([1, 2]).buffer);
    const body = Buffer.concat([Buffer.from(header), bytes]);
    const reply = JSON.stringify({
      model_name: 'm',
      model_version: '1',
      outputs: [{ name: 'y', datatype: 'FP32', shape: [1], data: [3] }],
    });
    expect(captureV2(body, String(Buffer.byteLength(header)), reply, undefined)?.inputs).toEqual({
      x: { datatype: 'FP32', shape: [2], data: bytes.toString('base64'), encoding: 'base64' },
    });
  });

  it('entry scripts: what run got and returned, JSON when it parses, text or base64 bytes when not', () => {
    expect(captureScript('{"data":[[1]],"customer":"c-1"}', '{"result":[2]}')).toEqual({
      inputs: { data: [[1]], customer: 'c-1' },
      outputs: { result: [2] },
    });
    expect(captureScript('hello', 'Hello, hello')).toEqual({
      inputs: { data: 'hello' },
      outputs: 'Hello, hello',
    });
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0x00]);
    expect(captureScript(png, '[1]').inputs).toEqual({
      data: { encoding: 'base64', data: png.toString('base64') },
    });
  });
});
