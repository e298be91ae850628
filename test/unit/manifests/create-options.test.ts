import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CREATE_OPTIONS_CHUNK_SIZE,
  CREATE_OPTIONS_MAX_CHUNKS,
  chunkCreateOptions,
  createOptionsKey,
  joinCreateOptions,
} from '../../../manifests/index.js';
import { issueKeys, manifestErrorOf } from './helpers.js';

/** An object whose compact JSON text is exactly `length` characters: {"a":"xxx…"} is 8 + n. */
function objectOfLength(length: number): Record<string, string> {
  return { a: 'x'.repeat(length - 8) };
}

/** Chunk names in order for n chunks: createOptions, createOptions01, … */
const expectedKeys = (n: number) => Array.from({ length: n }, (_, i) => createOptionsKey(i));

/** JSON objects of random shapes and sizes, from tiny to well past one chunk. */
const jsonObject = fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), {
  maxKeys: 12,
});

describe('createOptions chunking (IoT Edge scheme)', () => {
  it('names chunks createOptions, createOptions01 … with two digits', () => {
    expect([0, 1, 7, 12, 99].map(createOptionsKey)).toEqual([
      'createOptions',
      'createOptions01',
      'createOptions07',
      'createOptions12',
      'createOptions99',
    ]);
  });

  it('round-trips random objects: join(chunk(x)) = x, every chunk ≤ 512, keys in sequence', () => {
    fc.assert(
      fc.property(jsonObject, (obj) => {
        const text = JSON.stringify(obj);
        fc.pre(text.length <= CREATE_OPTIONS_CHUNK_SIZE * CREATE_OPTIONS_MAX_CHUNKS);
        const chunks = chunkCreateOptions(obj);
        const values = Object.values(chunks);
        expect(values.every((c) => c.length <= CREATE_OPTIONS_CHUNK_SIZE)).toBe(true);
        expect(values.join('')).toBe(text);
        expect(Object.keys(chunks)).toEqual(expectedKeys(values.length));
        expect(joinCreateOptions({ image: 'x', ...chunks })).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips large objects that need several chunks', () => {
    const big = fc.dictionary(
      fc.string({ minLength: 1, maxLength: 8 }),
      fc.string({ minLength: 50, maxLength: 400 }),
      {
        minKeys: 3,
        maxKeys: 14,
      },
    );
    fc.assert(
      fc.property(big, (obj) => {
        const text = JSON.stringify(obj);
        if (text.length > CREATE_OPTIONS_CHUNK_SIZE * CREATE_OPTIONS_MAX_CHUNKS) {
          expect(manifestErrorOf(() => chunkCreateOptions(obj)).issues[0]?.rule).toBe('create-options-size');
          return;
        }
        const chunks = chunkCreateOptions(obj);
        expect(Object.keys(chunks)).toHaveLength(
          Math.max(1, Math.ceil(text.length / CREATE_OPTIONS_CHUNK_SIZE)),
        );
        expect(joinCreateOptions(chunks)).toEqual(obj);
      }),
      { numRuns: 200 },
    );
  });

  it('never splits a surrogate pair, so every chunk is well-formed UTF-16 (and valid UTF-8 on the wire)', () => {
    const astral = fc.dictionary(
      fc.string({ maxLength: 4 }),
      fc.string({ unit: 'binary', minLength: 100, maxLength: 400 }),
      {
        minKeys: 2,
        maxKeys: 8,
      },
    );
    fc.assert(
      fc.property(astral, (obj) => {
        fc.pre(JSON.stringify(obj).length <= 3500);
        const chunks = Object.values(chunkCreateOptions(obj));
        for (const c of chunks) {
          expect(c.length).toBeLessThanOrEqual(CREATE_OPTIONS_CHUNK_SIZE);
          expect(Buffer.from(c, 'utf8').toString('utf8')).toBe(c); // a cut pair would come back as U+FFFD
        }
        expect(joinCreateOptions(chunkCreateOptions(obj))).toEqual(obj);
      }),
      { numRuns: 200 },
    );
  });

  it.each([
    [8, 1],
    [511, 1],
    [512, 1],
    [513, 2],
    [1024, 2],
    [1025, 3],
    [4095, 8],
    [4096, 8],
  ])('a %i-character text makes %i chunk(s), all but the last exactly 512', (length, count) => {
    const obj = objectOfLength(length);
    expect(JSON.stringify(obj)).toHaveLength(length);
    const chunks = chunkCreateOptions(obj);
    expect(Object.keys(chunks)).toEqual(expectedKeys(count));
    const lengths = Object.values(chunks).map((c) => c.length);
    expect(lengths.slice(0, -1).every((l) => l === CREATE_OPTIONS_CHUNK_SIZE)).toBe(true);
    expect(lengths.reduce((a, b) => a + b, 0)).toBe(length);
  });

  it('rejects a text of 4097 characters (more than 8 chunks), as the IoT Edge tools do', () => {
    const err = manifestErrorOf(() =>
      chunkCreateOptions(objectOfLength(4097), ['modules', 'big', 'createOptions']),
    );
    expect(issueKeys(err.issues)).toEqual(['$.modules.big.createOptions (create-options-size)']);
    expect(err.message).toContain('4097 characters');
  });

  it('keeps a JSON text as written, and an empty object as "{}"', () => {
    expect(chunkCreateOptions('{ "Env": ["A=1"] }')).toEqual({ createOptions: '{ "Env": ["A=1"] }' });
    expect(chunkCreateOptions({})).toEqual({ createOptions: '{}' });
  });

  it.each([
    ['[1,2]', 'must be a JSON object, not an array'],
    ['null', 'must be a JSON object, not null'],
    ['{"Env": [', 'not valid JSON'],
  ])('rejects the text %s', (text, message) => {
    const err = manifestErrorOf(() => chunkCreateOptions(text));
    expect(err.issues[0]?.rule).toBe('create-options-json');
    expect(err.issues[0]?.message).toContain(message);
  });
});

describe('joinCreateOptions', () => {
  it('joins chunks in sequence order whatever the key order in the object', () => {
    const settings = { createOptions02: '1}', image: 'x', createOptions: '{"a"', createOptions01: ':' };
    expect(joinCreateOptions(settings)).toEqual({ a: 1 });
  });

  it('accepts unpadded numbers and the lower-case spelling, as edgeAgent does', () => {
    expect(joinCreateOptions({ createoptions: '{"a":', createoptions1: '2}' })).toEqual({ a: 2 });
  });

  it('gives {} when there are no create options or the text is blank', () => {
    expect(joinCreateOptions({ image: 'x' })).toEqual({});
    expect(joinCreateOptions({ createOptions: '' })).toEqual({});
    expect(joinCreateOptions({ createOptions: '   ' })).toEqual({});
  });

  it('accepts createOptions written as an object (dev-tool templates)', () => {
    expect(joinCreateOptions({ createOptions: { HostConfig: { Privileged: false } } })).toEqual({
      HostConfig: { Privileged: false },
    });
  });

  it.each([
    [
      { createOptions: '{"a":', createOptions02: '1}' },
      '$.settings.createOptions01 (create-options-chunks)',
      'gap',
    ],
    [{ createOptions01: '{}' }, '$.settings.createOptions (create-options-chunks)', 'gap'],
    [
      { createOptions: '{"a":', createOptions01: '1', createOptions1: '}' },
      '$.settings.createOptions1 (create-options-chunks)',
      'duplicate',
    ],
    [{ createOptions: '{"a":', createOptions01: 1 }, '$.settings.createOptions01 (type)', 'must be strings'],
    [
      { createOptions: '{"a":', createOptions01: '1' },
      '$.settings.createOptions (create-options-json)',
      'not valid JSON',
    ],
    [{ createOptions: '"text"' }, '$.settings.createOptions (create-options-json)', 'not a string'],
  ])('reports %j as %s', (settings, key, message) => {
    const err = manifestErrorOf(() => joinCreateOptions(settings, ['settings']));
    expect(issueKeys(err.issues)).toEqual([key]);
    expect(err.issues[0]?.message).toContain(message);
  });

  it('refuses more than the 100 chunks edgeAgent reads', () => {
    const settings: Record<string, string> = { createOptions: '{"a":"' };
    for (let i = 1; i <= 100; i++) settings[createOptionsKey(i)] = i === 100 ? '"}' : 'x';
    expect(issueKeys(manifestErrorOf(() => joinCreateOptions(settings)).issues)).toEqual([
      '$.createOptions100 (create-options-chunks)',
    ]);
    delete settings[createOptionsKey(100)];
    settings[createOptionsKey(99)] = '"}';
    expect(joinCreateOptions(settings)).toEqual({ a: 'x'.repeat(98) });
  });
});
