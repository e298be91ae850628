import { describe, expect, it } from 'vitest';
import {
  convertToSample,
  inputSchemaOf,
  SampleMismatch,
  specOf,
} from '../../../modules/scoring/entry/sample-schema.js';
import { dataReply, rawReply } from '../../../modules/scoring/entry/script-reply.js';
import { chooseProviders } from '../../../modules/scoring/execution-providers.js';
import type { HardwareFacts } from '../../../modules/scoring/hardware.js';
import { splitInferBody, tensorFromBinary, tensorToBinary } from '../../../modules/scoring/oip-binary.js';

const facts = (over: Partial<HardwareFacts> = {}): HardwareFacts => ({
  cpu: { brand: 'EPYC', manufacturer: 'AMD', cores: 2, physicalCores: 2 },
  gpus: [],
  binding: [
    { name: 'cpu', bundled: true, libraryInstalled: true },
    { name: 'cuda', bundled: false, libraryInstalled: false },
  ],
  platform: 'linux',
  arch: 'x64',
  ...over,
});

describe('choosing execution providers', () => {
  it('defaults to cpu', () => {
    expect(chooseProviders([], [], facts())).toMatchObject({ chosen: ['cpu'] });
  });
  it('takes cuda when its library and an NVIDIA GPU are there', () => {
    const f = facts({
      gpus: [{ vendor: 'NVIDIA Corporation', model: 'Jetson Orin' }],
      binding: [
        { name: 'cpu', bundled: true, libraryInstalled: true },
        { name: 'cuda', bundled: false, libraryInstalled: true },
      ],
    });
    expect(chooseProviders(['cuda', 'cpu'], [], f)).toMatchObject({
      chosen: ['cuda', 'cpu'],
      reason: 'requested, and available here',
    });
  });
  it('names what is missing, or falls back when allowed', () => {
    expect(() => chooseProviders(['cuda'], [], facts())).toThrow(
      /cuda: the cuda provider library is not installed/,
    );
    const withLib = facts({ binding: [{ name: 'cuda', bundled: false, libraryInstalled: true }] });
    expect(() => chooseProviders(['cuda'], [], withLib)).toThrow(
      /no NVIDIA GPU was found \(systeminformation saw no display controllers\)/,
    );
    expect(chooseProviders(['cuda'], ['cpu'], facts())).toMatchObject({
      chosen: ['cpu'],
      reason: expect.stringMatching(/^fell back: cuda: /),
    });
    expect(() => chooseProviders(['cuda'], ['tensorrt'], facts())).toThrow(/nor the fallback tensorrt/);
  });
});

describe('run() results as replies', () => {
  it('sends JSON strings as they are and encodes the rest once', () => {
    expect(dataReply('[1,2]').body).toBe('[1,2]');
    expect(dataReply('not json').body).toBe('"not json"');
    expect(dataReply(undefined).body).toBe('null');
    expect(dataReply({ a: Int32Array.from([1, 2]), b: 7n }).body).toBe('{"a":[1,2],"b":7}');
  });
  it('turns AMLResponse-like objects into status, headers and body', () => {
    expect(rawReply({ status: 201, headers: { 'X-A': 1 }, body: 'made' })).toEqual({
      status: 201,
      headers: { 'x-a': '1', 'content-type': 'text/plain; charset=utf-8' },
      body: 'made',
    });
    const bytes = rawReply({ status: 200, body: Buffer.from([1, 2]) });
    expect(bytes.headers['content-type']).toBe('application/octet-stream');
    expect(Array.from(bytes.body as Uint8Array)).toEqual([1, 2]);
    expect(rawReply({ statusCode: 202, body: { ok: true } })).toMatchObject({
      status: 202,
      body: '{"ok":true}',
    });
    expect(rawReply([1])).toMatchObject({ status: 200, body: '[1]' });
    expect(() => rawReply({ status: 42 })).toThrow(/invalid HTTP status 42/);
  });
});

describe('samples', () => {
  it('describe typed arrays, nested arrays and records', () => {
    const { schema, mixedTypes } = inputSchemaOf([Int16Array.from([1, 2])]);
    expect(mixedTypes).toBe(false);
    expect(schema.properties).toEqual({
      data: {
        type: 'array',
        format: 'numpy.ndarray',
        items: { type: 'array', items: { type: 'integer', format: 'int16' } },
        example: [[1, 2]],
      },
    });
    expect(inputSchemaOf([1, 'a']).mixedTypes).toBe(true);
  });
  it("convert requests to the sample's own types and refuse mismatches", () => {
    const spec = specOf([Uint8Array.from([1, 2, 3])]);
    const out = convertToSample([[4, 5, 6]], spec, 'data') as Uint8Array[];
    expect(out[0]).toBeInstanceOf(Uint8Array);
    expect(() => convertToSample([[4, 5, 256]], spec, 'data')).toThrow(SampleMismatch);
    expect(() => convertToSample([[4, 5]], spec, 'data')).toThrow(/data\[0\] must have 3 elements/);
  });
});

describe('binary tensors', () => {
  it('round-trips numbers and length-prefixed strings', () => {
    const t = tensorFromBinary(Buffer.from(Float64Array.from([1.5, -2]).buffer), [1, 2], 'float64', 'x');
    expect(Array.from(t.data as Float64Array)).toEqual([1.5, -2]);
    const s = { type: 'string' as const, dims: [2], data: ['ab', 'ç'] };
    expect(tensorFromBinary(tensorToBinary(s), [2], 'string', 'x').data).toEqual(['ab', 'ç']);
  });
  it('checks every length before slicing', () => {
    expect(() => splitInferBody(Buffer.alloc(4), '5')).toThrow(/is 5 but the body has only 4 bytes/);
    expect(() => splitInferBody(Buffer.alloc(4), '-1')).toThrow(/not a byte count/);
    expect(() => tensorFromBinary(Buffer.alloc(7), [2], 'float32', 'x')).toThrow(/needs 8/);
    expect(() => tensorFromBinary(Buffer.from([9, 0, 0, 0, 1]), [1], 'string', 'x')).toThrow(
      /claims 9 bytes/,
    );
  });
});
