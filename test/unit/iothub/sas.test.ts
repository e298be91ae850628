import { SharedAccessSignature as DeviceSas } from 'azure-iot-common';
import { SharedAccessSignature as ServiceSas } from 'azure-iothub';
import { describe, expect, it } from 'vitest';
import { parseConnectionString } from '../../../test/support/iothub/connection-string.js';
import {
  computeSignature,
  createSasToken,
  parseSasToken,
  verifySasToken,
} from '../../../test/support/iothub/sas.js';

const KEY = Buffer.alloc(32, 7).toString('base64');
const OTHER_KEY = Buffer.alloc(32, 9).toString('base64');
const NOW = Date.UTC(2030, 0, 1);
const LATER = Math.floor(NOW / 1000) + 3600;

function parsed(raw: string) {
  const result = parseSasToken(raw);
  if (!result.ok) throw new Error(result.reason);
  return result.token;
}

describe('SAS tokens', () => {
  it("verifies a device token made by the device SDK's own code (url-encoded resource)", () => {
    const resource = encodeURIComponent('localhost:8883/devices/dev-1');
    const raw = DeviceSas.create(resource, undefined as unknown as string, KEY, LATER).toString();
    const token = parsed(raw);
    expect(
      verifySasToken(token, { resource: 'localhost:8883/devices/dev-1', keys: [KEY], nowMs: NOW }),
    ).toEqual({
      ok: true,
    });
  });

  it("verifies a service token made by the service SDK's own code (bare host name, policy)", () => {
    const raw = ServiceSas.create('localhost:8883', 'iothubowner', KEY, LATER).toString();
    const token = parsed(raw);
    expect(token.skn).toBe('iothubowner');
    expect(verifySasToken(token, { resource: 'LOCALHOST:8883', keys: [KEY], nowMs: NOW }).ok).toBe(true);
  });

  it('accepts the secondary key', () => {
    const token = parsed(
      createSasToken({ resource: 'h/devices/d', keyBase64: OTHER_KEY, expiresAtSeconds: LATER }),
    );
    expect(verifySasToken(token, { resource: 'h/devices/d', keys: [KEY, OTHER_KEY], nowMs: NOW }).ok).toBe(
      true,
    );
  });

  it.each([
    [
      'wrong key',
      { keyBase64: OTHER_KEY, resource: 'h/devices/d', expiresAtSeconds: LATER },
      'signature does not match',
    ],
    [
      'expired',
      { keyBase64: KEY, resource: 'h/devices/d', expiresAtSeconds: LATER - 7200 },
      'token expired at',
    ],
    [
      'another device',
      { keyBase64: KEY, resource: 'h/devices/e', expiresAtSeconds: LATER },
      "token is for 'h/devices/e'",
    ],
  ])('refuses a token with the %s', (_name, options, reason) => {
    const token = parsed(createSasToken(options));
    const check = verifySasToken(token, { resource: 'h/devices/d', keys: [KEY], nowMs: NOW });
    expect(check.ok).toBe(false);
    expect(check.ok ? '' : check.reason).toContain(reason);
  });

  it('treats device ids as case-sensitive and the host as not', () => {
    const token = parsed(
      createSasToken({ resource: 'H/devices/D', keyBase64: KEY, expiresAtSeconds: LATER }),
    );
    expect(verifySasToken(token, { resource: 'h/devices/D', keys: [KEY], nowMs: NOW }).ok).toBe(true);
    expect(verifySasToken(token, { resource: 'h/devices/d', keys: [KEY], nowMs: NOW }).ok).toBe(false);
  });

  it.each([
    ['Bearer abc', 'not a SharedAccessSignature token'],
    ['SharedAccessSignature sr=a&sig=b', 'sr, sig and se are required'],
    ['SharedAccessSignature sr=a&sig=b&se=soon', "expiry 'soon' is not a number"],
    ['SharedAccessSignature sr=a&sig', "malformed field 'sig'"],
  ])('rejects the malformed %j', (raw, reason) => {
    const result = parseSasToken(raw);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toContain(reason);
  });

  it('signs sr + newline + expiry with HMAC-SHA256 of the decoded key', () => {
    // Known answer computed independently with: printf 'h\n1' | openssl dgst -sha256 -mac HMAC -macopt hexkey:0707…07 -binary | base64
    expect(computeSignature('h', 1, KEY)).toBe('1vt8BVXoBv46en31LCs2AIw/1sdQqtzhv+N6ZV76DpY=');
  });
});

describe('connection strings', () => {
  it('keeps the base64 padding of keys', () => {
    expect(parseConnectionString('HostName=localhost:1;DeviceId=d;SharedAccessKey=abc==')).toEqual({
      HostName: 'localhost:1',
      DeviceId: 'd',
      SharedAccessKey: 'abc==',
    });
  });
});
