import { describe, expect, it } from 'vitest';
import { type ConnectContext, checkModuleConnect } from '../../../agent/hub/connect-auth.js';
import { createSasToken } from '../../../agent/hub/sas.js';
import { classifyPublish, featureOf, inputTopic, parsePropertyBag } from '../../../agent/hub/topics.js';

const KEY = Buffer.alloc(32, 7).toString('base64');
const OTHER = Buffer.alloc(32, 9).toString('base64');
const NOW = Date.parse('2026-01-01T00:00:00Z');
const ctx: ConnectContext = {
  deviceId: 'edge-1',
  hostNames: ['hub.example.net', 'localhost:8883'],
  keysOf: (m) => (m === 'scoring' ? { primaryKey: KEY, secondaryKey: OTHER } : undefined),
  nowMs: NOW,
};
const user = (host = 'hub.example.net', client = 'edge-1/scoring') =>
  `${host}/${client}/?api-version=2021-04-12&DeviceClientType=x`;
const token = (
  key = KEY,
  resource = 'hub.example.net/devices/edge-1/modules/scoring',
  expiry = NOW / 1000 + 3600,
) => createSasToken(resource, key, expiry);

describe('module CONNECT check', () => {
  it('accepts a token signed with the primary or the secondary key, naming either host', () => {
    expect(checkModuleConnect('edge-1/scoring', user(), token(), ctx)).toEqual({
      ok: true,
      moduleId: 'scoring',
    });
    expect(checkModuleConnect('edge-1/scoring', user(), token(OTHER), ctx).ok).toBe(true);
    const viaGateway = token(KEY, 'localhost:8883/devices/edge-1/modules/scoring');
    expect(checkModuleConnect('edge-1/scoring', user('LOCALHOST:8883'), viaGateway, ctx).ok).toBe(true);
  });

  it.each([
    [
      'a wrong key',
      'edge-1/scoring',
      user(),
      token(Buffer.alloc(32, 1).toString('base64')),
      5,
      /does not match/,
    ],
    ['an expired token', 'edge-1/scoring', user(), token(KEY, undefined, NOW / 1000 - 1), 5, /expired/],
    ['an unknown module', 'edge-1/other', user(undefined, 'edge-1/other'), token(), 5, /no identity/],
    [
      'a token for another module',
      'edge-1/scoring',
      user(),
      token(KEY, 'hub.example.net/devices/edge-1/modules/x'),
      5,
      /not for this module/,
    ],
    ['a password that is no token', 'edge-1/scoring', user(), 'secret', 5, /not a SharedAccessSignature/],
    [
      'a device client id',
      'edge-1',
      user(undefined, 'edge-1'),
      token(),
      2,
      /not '\{deviceId\}\/\{moduleId\}'/,
    ],
    [
      'another device',
      'edge-2/scoring',
      user(undefined, 'edge-2/scoring'),
      token(),
      2,
      /this hub serves 'edge-1'/,
    ],
    ['a user name for another host', 'edge-1/scoring', user('evil.net'), token(), 4, /must be/],
    ['no api-version', 'edge-1/scoring', 'hub.example.net/edge-1/scoring/', token(), 4, /no api-version/],
  ])('refuses %s', (_what, clientId, username, password, code, reason) => {
    const verdict = checkModuleConnect(clientId, username, password, ctx);
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.returnCode).toBe(code);
    expect(verdict.reason).toMatch(reason);
  });
});

describe('topics', () => {
  it('classifies what a module publishes', () => {
    expect(classifyPublish('devices/d/modules/m/messages/events/%24.on=collect&a=1/')).toEqual({
      kind: 'event',
      deviceId: 'd',
      moduleId: 'm',
      propertyBag: '%24.on=collect&a=1',
    });
    expect(classifyPublish('$iothub/twin/GET/?$rid=7')).toEqual({ kind: 'twinGet', rid: '7' });
    expect(classifyPublish('$iothub/twin/PATCH/properties/reported/?$rid=8')).toEqual({
      kind: 'reportedPatch',
      rid: '8',
    });
    expect(classifyPublish('$iothub/methods/res/200/?$rid=9')).toEqual({
      kind: 'methodResponse',
      rid: '9',
      status: 200,
    });
    expect(classifyPublish('devices/d/messages/events/')).toEqual({ kind: 'unknown' });
  });

  it('splits a property bag into message id, system and application properties', () => {
    const bag = parsePropertyBag(
      '%24.mid=id%201&%24.ct=application%2Fjson&%24.ce=utf-8&%24.on=collect&%24.to=x&model=ridge',
    );
    expect(bag).toEqual({
      messageId: 'id 1',
      system: { contentType: 'application/json', contentEncoding: 'utf-8', outputName: 'collect' },
      app: { model: 'ridge' },
    });
  });

  it('builds input topics the device SDK reads back', () => {
    const topic = inputTopic('d', 'sink', 'in1', {
      messageId: 'a&b',
      app: { 'k=1': 'v/2' },
      system: { contentType: 'application/json', connectionModuleId: 'scoring' },
    });
    expect(topic).toBe(
      'devices/d/modules/sink/inputs/in1/%24.mid=a%26b&%24.ct=application%2Fjson&%24.cmid=scoring&k%3D1=v%2F2',
    );
    expect(parsePropertyBag(topic.split('/')[6] as string).app).toEqual({ 'k=1': 'v/2' });
  });

  it('knows which subscriptions a module may make', () => {
    expect(featureOf('$iothub/methods/POST/#', 'd', 'm')).toBe('methods');
    expect(featureOf('devices/d/modules/m/inputs/#', 'd', 'm')).toBe('inputs');
    expect(featureOf('devices/d/modules/other/inputs/#', 'd', 'm')).toBeUndefined();
    expect(featureOf('#', 'd', 'm')).toBeUndefined();
  });
});
