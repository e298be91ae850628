import { describe, expect, it } from 'vitest';
import {
  hubErrorOf,
  parseHubConnectionString,
  summarizeDeployment,
  toHubError,
} from '../../../cloud/fleet/index.js';
import { isModelportError } from '../../../common/errors.js';

const ctx = {
  hostName: 'hub.example.net',
  policyName: 'registryReadWrite',
  operation: "create deployment 'x'",
};
/** The shape azure-iothub rejects with for an HTTP failure (rest_api_client.js translateError). */
const httpError = (statusCode: number, code: string, text: string) =>
  Object.assign(new Error(text), {
    response: { statusCode },
    responseBody: JSON.stringify({ Message: `ErrorCode:${code};${text}`, ExceptionMessage: 'Tracking ID:1' }),
  });
const netError = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

describe('toHubError', () => {
  it.each([
    [
      httpError(400, 'ArgumentInvalid', "Invalid target condition 'x'; near"),
      'HUB_BAD_REQUEST',
      2,
      "Invalid target condition 'x'; near",
    ],
    [
      httpError(401, 'IotHubUnauthorizedAccess', 'Unauthorized'),
      'HUB_UNAUTHORIZED',
      5,
      "refused the key of shared access policy 'registryReadWrite'",
    ],
    [
      httpError(403, 'IotHubQuotaExceeded', 'no'),
      'HUB_FORBIDDEN',
      5,
      "does not let policy 'registryReadWrite'",
    ],
    [httpError(404, 'ConfigurationNotFound', 'gone'), 'HUB_NOT_FOUND', 3, 'gone'],
    [httpError(409, 'ConfigurationAlreadyExists', 'exists'), 'HUB_CONFLICT', 4, 'already exists'],
    [httpError(412, 'PreconditionFailed', 'etag'), 'ETAG_MISMATCH', 4, 'changed by someone else'],
    [httpError(429, 'ThrottleBacklogLimitExceeded', 'slow'), 'HUB_THROTTLED', 5, 'throttling'],
    [httpError(503, 'ServerError', 'down'), 'HUB_ERROR', 5, 'HTTP 503'],
    [
      netError('ECONNREFUSED'),
      'HUB_UNREACHABLE',
      5,
      'cannot reach IoT Hub hub.example.net: connection refused (ECONNREFUSED)',
    ],
    [netError('ENOTFOUND'), 'HUB_UNREACHABLE', 5, 'host not found'],
    [
      netError('DEPTH_ZERO_SELF_SIGNED_CERT'),
      'HUB_TLS_FAILED',
      5,
      'cannot open a trusted TLS connection to IoT Hub hub.example.net',
    ],
  ])('%s → %s (exit %i)', (err, code, exitCode, text) => {
    const e = toHubError(err, ctx);
    expect(e.code).toBe(code);
    expect(e.exitCode).toBe(exitCode);
    expect(e.message).toContain(text);
  });

  it('keeps the whole hub message, semicolons included', () => {
    expect(hubErrorOf(JSON.stringify({ Message: 'ErrorCode:ArgumentInvalid;a; b; c' }))).toEqual({
      code: 'ArgumentInvalid',
      text: 'a; b; c',
    });
    expect(hubErrorOf('<html>proxy</html>')).toEqual({ text: '<html>proxy</html>' });
  });
});

describe('parseHubConnectionString', () => {
  const key = 'c2VjcmV0LWtleS12YWx1ZQ==';
  it('reads host, port and policy', () => {
    expect(
      parseHubConnectionString(
        `HostName=hub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=${key}`,
        'x',
      ),
    ).toEqual({
      hostName: 'hub.azure-devices.net',
      host: 'hub.azure-devices.net',
      policyName: 'iothubowner',
    });
    expect(
      parseHubConnectionString(
        `HostName=localhost:8443;SharedAccessKeyName=service;SharedAccessKey=${key}`,
        'x',
      ),
    ).toMatchObject({
      host: 'localhost',
      port: 8443,
    });
  });

  it.each([
    [`HostName=h;DeviceId=d;SharedAccessKey=${key}`, 'device connection string'],
    [`HostName=h;SharedAccessKey=${key}`, 'SharedAccessKeyName missing'],
    ['garbage', 'HostName, SharedAccessKeyName, SharedAccessKey missing'],
    [`HostName=h:99999;SharedAccessKeyName=p;SharedAccessKey=${key}`, 'names port 99999'],
  ])('refuses %s without repeating the key', (text, message) => {
    try {
      parseHubConnectionString(text, '--hub-connection-string');
      expect.fail('expected an error');
    } catch (e) {
      if (!isModelportError(e)) throw e;
      expect(e.code).toBe('HUB_CONNECTION_STRING_INVALID');
      expect(e.message).toContain(message);
      expect(e.message).not.toContain(key);
    }
  });
});

describe('summarizeDeployment', () => {
  it('reads system and custom metrics, modules, and whether it is layered', () => {
    const summary = summarizeDeployment({
      id: 'canary',
      schemaVersion: '1.0',
      priority: 20,
      targetCondition: "tags.ring='canary'",
      etag: 'MQ==',
      content: {
        modulesContent: {
          $edgeAgent: { 'properties.desired.modules.scoring': { settings: { image: 'reg/s:2' } } },
        },
      },
      systemMetrics: {
        results: { targetedCount: 3, appliedCount: 2, reportedSuccessfulCount: 1, reportedFailedCount: 0 },
      },
      metrics: { results: { ok: 1 }, queries: { ok: 'SELECT deviceId FROM devices' } },
    });
    expect(summary).toMatchObject({
      layered: true,
      modules: [{ name: 'scoring', image: 'reg/s:2' }],
      metrics: { targeted: 3, applied: 2, reportedSuccessful: 1, reportedFailed: 0, custom: { ok: 1 } },
      metricQueries: { ok: 'SELECT deviceId FROM devices' },
    });
  });
});
