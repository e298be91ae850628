import { describe, expect, it } from 'vitest';
import { TWIN_DESIRED_MAX_BYTES, twinSize } from '../../../manifests/index.js';

describe('twinSize: IoT Hub’s way of counting a twin', () => {
  it.each([
    ['a string value (UTF-8 bytes)', 'héllo', 6],
    ['a number (8 bytes)', 12345678901, 8],
    ['a boolean (4 bytes)', false, 4],
    ['keys plus values', { ab: 'cd', n: 1, t: true }, 2 + 2 + 1 + 8 + 1 + 4],
    ['nested objects as the sum of their contents', { a: { bb: { c: 'ddd' } } }, 1 + 2 + 1 + 3],
    ['an empty object', {}, 0],
  ])('%s', (_what, value, size) => {
    expect(twinSize(value)).toBe(size);
  });

  it('counts a real edgeAgent desired document well under the limit', () => {
    const desired = {
      schemaVersion: '1.1',
      modules: { scoring: { settings: { image: 'localhost:5000/regression10:1', createOptions: '{}' } } },
    };
    expect(twinSize(desired)).toBe(
      'schemaVersion'.length +
        3 +
        'modules'.length +
        'scoring'.length +
        'settings'.length +
        'image'.length +
        'localhost:5000/regression10:1'.length +
        'createOptions'.length +
        2,
    );
    expect(twinSize(desired)).toBeLessThan(TWIN_DESIRED_MAX_BYTES);
  });
});
