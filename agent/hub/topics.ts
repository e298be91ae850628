/**
 * IoT Hub's MQTT topics as a module sees them through edgeHub: what it may publish and subscribe
 * to, and the topics the hub answers on. Pure functions.
 */
import type { SystemProperties } from '../upstream/message.js';

/** What a module subscribes to. */
export type Feature = 'twinResponses' | 'desired' | 'methods' | 'inputs';

export function featureOf(filter: string, deviceId: string, moduleId: string): Feature | undefined {
  if (filter === '$iothub/twin/res/#') return 'twinResponses';
  if (filter === '$iothub/twin/PATCH/properties/desired/#') return 'desired';
  if (filter === '$iothub/methods/POST/#') return 'methods';
  if (filter === `devices/${deviceId}/modules/${moduleId}/inputs/#`) return 'inputs';
  return undefined;
}

export type ModulePublish =
  | { kind: 'event'; deviceId: string; moduleId: string; propertyBag: string }
  | { kind: 'twinGet'; rid: string }
  | { kind: 'reportedPatch'; rid: string }
  | { kind: 'methodResponse'; rid: string; status: number }
  | { kind: 'unknown' };

const EVENTS_TOPIC = /^devices\/([^/]+)\/modules\/([^/]+)\/messages\/events(?:\/(.*))?$/;
const METHOD_RESPONSE = /^\$iothub\/methods\/res\/(\d{3})\/?$/;

export function classifyPublish(topic: string): ModulePublish {
  const events = EVENTS_TOPIC.exec(topic);
  if (events) {
    return {
      kind: 'event',
      deviceId: events[1] as string,
      moduleId: events[2] as string,
      // The SDK ends a property bag with '/' when it sends an output name.
      propertyBag: (events[3] ?? '').replace(/\/$/, ''),
    };
  }
  const q = topic.indexOf('?');
  const path = q < 0 ? topic : topic.slice(0, q);
  const rid = new URLSearchParams(q < 0 ? '' : topic.slice(q + 1)).get('$rid') ?? '';
  const bare = path.replace(/\/$/, '');
  if (bare === '$iothub/twin/GET') return { kind: 'twinGet', rid };
  if (bare === '$iothub/twin/PATCH/properties/reported') return { kind: 'reportedPatch', rid };
  const methodResponse = METHOD_RESPONSE.exec(path);
  if (methodResponse) return { kind: 'methodResponse', rid, status: Number(methodResponse[1]) };
  return { kind: 'unknown' };
}

const SYSTEM_KEYS: Record<string, keyof SystemProperties | 'messageId'> = {
  '$.mid': 'messageId',
  '$.cid': 'correlationId',
  '$.uid': 'userId',
  '$.exp': 'expiryTimeUtc',
  '$.ct': 'contentType',
  '$.ce': 'contentEncoding',
  '$.on': 'outputName',
};

export interface PropertyBag {
  messageId: string | undefined;
  app: Record<string, string>;
  system: SystemProperties;
}

/** Splits a topic's property bag (`$.mid=1&$.on=out&temp=20`) into system and application properties. */
export function parsePropertyBag(bag: string): PropertyBag {
  const app: Record<string, string> = {};
  const system: Record<string, string> = {};
  let messageId: string | undefined;
  for (const pair of bag.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const name = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = decode(eq < 0 ? '' : pair.slice(eq + 1));
    const key = SYSTEM_KEYS[name];
    if (key === 'messageId') messageId = value;
    else if (key) system[key] = value;
    // Other `$.` keys (`$.to`, `$.ifid`, …) are IoT Hub's to set, not a module's.
    else if (!name.startsWith('$.')) app[name] = value;
  }
  return { messageId, app, system };
}

/** `devices/{d}/modules/{m}/inputs/{input}/{bag}`, the topic the SDK's `inputMessage` listens on. */
export function inputTopic(
  deviceId: string,
  moduleId: string,
  input: string,
  message: { messageId: string; app: Readonly<Record<string, string>>; system: Readonly<SystemProperties> },
): string {
  const pairs: [string, string][] = [['$.mid', message.messageId]];
  const sys = message.system;
  if (sys.correlationId) pairs.push(['$.cid', sys.correlationId]);
  if (sys.contentType) pairs.push(['$.ct', sys.contentType]);
  if (sys.contentEncoding) pairs.push(['$.ce', sys.contentEncoding]);
  if (sys.connectionDeviceId) pairs.push(['$.cdid', sys.connectionDeviceId]);
  if (sys.connectionModuleId) pairs.push(['$.cmid', sys.connectionModuleId]);
  for (const [k, v] of Object.entries(message.app)) pairs.push([k, v]);
  const bag = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  return `devices/${deviceId}/modules/${moduleId}/inputs/${input}/${bag}`;
}

export const twinResponseTopic = (status: number, rid: string, version?: number): string =>
  `$iothub/twin/res/${status}/?$rid=${rid}${version === undefined ? '' : `&$version=${version}`}`;

export const desiredPatchTopic = (version: number): string =>
  `$iothub/twin/PATCH/properties/desired/?$version=${version}`;

export const methodRequestTopic = (methodName: string, rid: string): string =>
  `$iothub/methods/POST/${methodName}/?$rid=${rid}`;

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    // Not valid percent-encoding: keep the text as the module sent it.
    return value;
  }
}
