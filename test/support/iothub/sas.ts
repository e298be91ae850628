/**
 * Shared access signatures as IoT Hub checks them: `SharedAccessSignature sr=<resource>&sig=<sig>&se=<expiry>[&skn=<policy>]`
 * where `sig` = base64(HMAC-SHA256(base64-decoded key, sr + "\n" + se)), url-encoded. `sr` is signed
 * exactly as it appears in the token (the device SDK url-encodes it, the service SDK sends the bare
 * host name), and must name the hub, device or module the token is used for. Pure functions.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface SasToken {
  /** The resource exactly as written in the token (possibly url-encoded). */
  readonly sr: string;
  /** The signature, url-decoded (base64). */
  readonly sig: string;
  /** Expiry, seconds since the epoch. */
  readonly se: number;
  /** Policy name for hub-level tokens. */
  readonly skn: string | undefined;
}

export type SasParseResult = { ok: true; token: SasToken } | { ok: false; reason: string };

export function parseSasToken(raw: string): SasParseResult {
  const match = /^SharedAccessSignature\s+(.+)$/.exec(raw.trim());
  if (!match?.[1]) return { ok: false, reason: 'not a SharedAccessSignature token' };
  const fields = new Map<string, string>();
  for (const part of match[1].split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { ok: false, reason: `malformed field '${part}'` };
    fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const sr = fields.get('sr');
  const sig = fields.get('sig');
  const se = fields.get('se');
  if (!sr || !sig || !se) return { ok: false, reason: 'sr, sig and se are required' };
  if (!/^\d+$/.test(se)) return { ok: false, reason: `expiry '${se}' is not a number of seconds` };
  const skn = fields.get('skn');
  return {
    ok: true,
    token: {
      sr,
      sig: safeDecode(sig),
      se: Number(se),
      skn: skn === undefined ? undefined : safeDecode(skn),
    },
  };
}

/** base64(HMAC-SHA256(key, sr + "\n" + se)) — the signature, before url-encoding. */
export function computeSignature(sr: string, expirySeconds: number, keyBase64: string): string {
  return createHmac('sha256', Buffer.from(keyBase64, 'base64'))
    .update(`${sr}\n${expirySeconds}`)
    .digest('base64');
}

export type SasCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks a token for `resource` (e.g. `localhost:8883/devices/d1`): resource match (url-decoded,
 * case-insensitive host), expiry against `nowMs`, and the signature against any of `keys`.
 */
export function verifySasToken(
  token: SasToken,
  expected: { resource: string; keys: readonly string[]; nowMs: number },
): SasCheck {
  const resource = normaliseResource(safeDecode(token.sr));
  if (resource !== normaliseResource(expected.resource)) {
    return { ok: false, reason: `token is for '${safeDecode(token.sr)}', not '${expected.resource}'` };
  }
  if (token.se * 1000 <= expected.nowMs) {
    return { ok: false, reason: `token expired at ${new Date(token.se * 1000).toISOString()}` };
  }
  const given = Buffer.from(token.sig, 'base64');
  for (const key of expected.keys) {
    if (!key) continue;
    const wanted = Buffer.from(computeSignature(token.sr, token.se, key), 'base64');
    if (wanted.length === given.length && timingSafeEqual(wanted, given)) return { ok: true };
  }
  return { ok: false, reason: 'signature does not match the key' };
}

/** Builds a token the way the Azure SDKs do (resource url-encoded, strict encoding of the signature). */
export function createSasToken(options: {
  resource: string;
  keyBase64: string;
  expiresAtSeconds: number;
  keyName?: string;
}): string {
  const sr = encodeUriComponentStrict(options.resource);
  const sig = encodeUriComponentStrict(computeSignature(sr, options.expiresAtSeconds, options.keyBase64));
  const skn = options.keyName === undefined ? '' : `&skn=${encodeUriComponentStrict(options.keyName)}`;
  return `SharedAccessSignature sr=${sr}&sig=${sig}&se=${options.expiresAtSeconds}${skn}`;
}

export function encodeUriComponentStrict(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);
}

function normaliseResource(resource: string): string {
  const trimmed = resource.endsWith('/') ? resource.slice(0, -1) : resource;
  const slash = trimmed.indexOf('/');
  // The host part is case-insensitive, device and module ids are not.
  return slash < 0 ? trimmed.toLowerCase() : trimmed.slice(0, slash).toLowerCase() + trimmed.slice(slash);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    // A lone '%' is not an encoding: such a value is compared as written.
    return value;
  }
}
