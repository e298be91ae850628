import { describe, expect, it } from 'vitest';
import { parseKeyFile } from '../../../modules/scoring/auth/key-file.js';
import { looksLikeToken, mintToken, verifyToken } from '../../../modules/scoring/auth/tokens.js';

describe('tokens', () => {
  const now = Date.UTC(2026, 0, 1);
  it('verifies what it mints until it expires', () => {
    const token = mintToken('s3cret', 60, { now, subject: 'cam-1' });
    expect(looksLikeToken(token)).toBe(true);
    expect(verifyToken(token, 's3cret', now + 59_000)).toEqual({
      ok: true,
      subject: 'cam-1',
      expiresAt: now + 60_000,
    });
    expect(verifyToken(token, 's3cret', now + 60_000)).toEqual({ ok: false, reason: 'token expired' });
    expect(verifyToken(token, 'other', now)).toEqual({ ok: false, reason: 'bad token signature' });
  });

  it('refuses malformed tokens and bad arguments', () => {
    expect(verifyToken('mp1.a.b.c', 's', now)).toEqual({ ok: false, reason: 'malformed token' });
    expect(() => mintToken('', 60)).toThrow(/secret is empty/);
    expect(() => mintToken('s', 0)).toThrow(/positive lifetime/);
  });
});

describe('key files', () => {
  it('reads Azure ML credentials JSON', () => {
    expect(parseKeyFile('{"primaryKey": "p", "secondaryKey": "s"}')).toEqual(['p', 's']);
    expect(parseKeyFile('{"primaryKey": "p"}')).toEqual(['p']);
  });
  it('reads one key per line, skipping comments and blanks', () => {
    expect(parseKeyFile('# keys\r\nfirst\n\n  second  \n')).toEqual(['first', 'second']);
  });
  it('throws on a broken JSON file (the watcher then keeps the old keys)', () => {
    expect(() => parseKeyFile('{"primaryKey": ')).toThrow();
  });
});
