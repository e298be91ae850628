import { describe, expect, it } from 'vitest';
import { replacementPatch } from '../../../agent/inventory/device-twin.js';

describe('replacementPatch (device twin inventory)', () => {
  it('nulls keys that disappeared, recursively, and keeps everything new', () => {
    const before = {
      $version: 4,
      inventory: { arch: 'x64', gpuCount: 1, gpus: [{ model: 'T4' }], extra: { a: 1, b: 2 } },
      other: true,
    };
    const next = { inventory: { arch: 'x64', gpuCount: 0, gpus: [], extra: { a: 1 } } };
    expect(replacementPatch(before, next)).toEqual({
      inventory: { arch: 'x64', gpuCount: 0, gpus: [], extra: { a: 1, b: null } },
      other: null,
    });
  });

  it('is the document itself when nothing was there before', () => {
    expect(replacementPatch(undefined, { inventory: { arch: 'arm64' } })).toEqual({
      inventory: { arch: 'arm64' },
    });
    expect(replacementPatch('junk', { inventory: { arch: 'arm64' } })).toEqual({
      inventory: { arch: 'arm64' },
    });
  });
});
