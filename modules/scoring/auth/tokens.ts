import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Expiring signed tokens: `mp1.<payload>.<signature>`, base64url, where the payload is JSON
 * `{"exp": <unix seconds>, "iat": <unix seconds>, "sub"?: <string>}` and the signature is
 * HMAC-SHA256(secret, "mp1.<payload>"). Clients send them as `Authorization: Bearer <token>`.
 */
const PREFIX = 'mp1';

export interface MintOptions {
  /** Who the token is for (logged on use). */
  subject?: string;
  /** The clock, in ms (tests); default Date.now(). */
  now?: number;
}

export function mintToken(secret: string, ttlSeconds: number, options: MintOptions = {}): string {
  if (secret.length === 0) throw new Error('the token secret is empty');
  if (!(ttlSeconds > 0)) throw new Error('a token needs a positive lifetime in seconds');
  const iat = Math.floor((options.now ?? Date.now()) / 1000);
  const claims = {
    exp: iat + Math.ceil(ttlSeconds),
    iat,
    ...(options.subject ? { sub: options.subject } : {}),
  };
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${PREFIX}.${payload}.${sign(secret, `${PREFIX}.${payload}`)}`;
}

export function looksLikeToken(text: string): boolean {
  return text.startsWith(`${PREFIX}.`);
}

export type TokenCheck = { ok: true; subject?: string; expiresAt: number } | { ok: false; reason: string };

/** Checks signature (in constant time) and expiry; `now` in ms. */
export function verifyToken(token: string, secret: string, now: number): TokenCheck {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) return { ok: false, reason: 'malformed token' };
  const [, payload, signature] = parts as [string, string, string];
  const expected = Buffer.from(sign(secret, `${PREFIX}.${payload}`));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'bad token signature' };
  }
  let claims: { exp?: unknown; sub?: unknown };
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed token payload' };
  }
  if (typeof claims.exp !== 'number') return { ok: false, reason: 'token has no expiry' };
  if (claims.exp * 1000 <= now) return { ok: false, reason: 'token expired' };
  return {
    ok: true,
    expiresAt: claims.exp * 1000,
    ...(typeof claims.sub === 'string' ? { subject: claims.sub } : {}),
  };
}

function sign(secret: string, data: string): string {
  return createHmac('sha256', secret).update(data).digest('base64url');
}
