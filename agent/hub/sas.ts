/**
 * Shared access signatures as IoT Hub (and edgeHub) check them on MQTT CONNECT:
 * `SharedAccessSignature sr=<url-encoded resource>&sig=<url-encoded base64>&se=<expiry>[&skn=<key name>]`,
 * `sig = base64(HMAC-SHA256(base64-decoded key, sr + "\n" + se))` with `sr` signed as written.
 * Pure functions.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface SasToken {
  /** The resource as written in the token (url-encoded by the SDKs). */
  readonly sr: string;
  /** The signature, url-decoded (base64). */
  readonly sig: string;
  /** Expiry in seconds since the epoch. */
  readonly se: number;
}

export type SasParse = { ok: true; token: SasToken } | { ok: false; reason: string };

export function parseSasToken(raw: string): SasParse {
  const match = /^SharedAccessSignature\s+(.+)$/.exec(raw.trim());
  if (!match?.[1]) return { ok: false, reason: 'the password is not a SharedAccessSignature token' };
  const fields = new Map<string, string>();
  for (const part of match[1].split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { ok: false, reason: `malformed token field '${part}'` };
    fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const sr = fields.get('sr');
  const sig = fields.get('sig');
  const se = fields.get('se');
  if (!sr || !sig || !se) return { ok: false, reason: 'the token needs sr, sig and se' };
  if (!/^\d+$/.test(se)) return { ok: false, reason: `the token expiry '${se}' is not a number of seconds` };
  return { ok: true, token: { sr, sig: decode(sig), se: Number(se) } };
}

export function computeSignature(sr: string, expirySeconds: number, keyBase64: string): string {
  return createHmac('sha256', Buffer.from(keyBase64, 'base64'))
    .update(`${sr}\n${expirySeconds}`)
    .digest('base64');
}

export type SasCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks a token against the resources it may name (url-decoded, host part case-insensitive), its
 * expiry, and the signature against any of `keys` (primary, secondary).
 */
export function verifySasToken(
  token: SasToken,
  expected: { resources: readonly string[]; keys: readonly string[]; nowMs: number },
): SasCheck {
  const resource = normaliseResource(decode(token.sr));
  if (!expected.resources.some((r) => normaliseResource(r) === resource))
    return { ok: false, reason: `the token is for '${decode(token.sr)}', not for this module` };
  if (token.se * 1000 <= expected.nowMs)
    return { ok: false, reason: `the token expired at ${new Date(token.se * 1000).toISOString()}` };
  const given = Buffer.from(token.sig, 'base64');
  for (const key of expected.keys) {
    const wanted = Buffer.from(computeSignature(token.sr, token.se, key), 'base64');
    if (wanted.length === given.length && timingSafeEqual(wanted, given)) return { ok: true };
  }
  return { ok: false, reason: "the token's signature does not match the module's key" };
}

/** A token the way the Azure SDKs build one (for tests and tools). */
export function createSasToken(resource: string, keyBase64: string, expiresAtSeconds: number): string {
  const sr = encodeStrict(resource);
  const sig = encodeStrict(computeSignature(sr, expiresAtSeconds, keyBase64));
  return `SharedAccessSignature sr=${sr}&sig=${sig}&se=${expiresAtSeconds}`;
}

function encodeStrict(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);
}

function normaliseResource(resource: string): string {
  const trimmed = resource.endsWith('/') ? resource.slice(0, -1) : resource;
  const slash = trimmed.indexOf('/');
  return slash < 0 ? trimmed.toLowerCase() : trimmed.slice(0, slash).toLowerCase() + trimmed.slice(slash);
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    // Not valid percent-encoding: compared as written (and so refused).
    return value;
  }
}
