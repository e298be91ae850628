/**
 * IoT Hub's MQTT topics (as the Azure device SDK uses them): what a device may subscribe to, what it
 * publishes, and the topics the hub answers on. Pure functions.
 */

/** What a device subscribes to, one feature per topic filter IoT Hub accepts. */
export type Feature = 'twinResponses' | 'desired' | 'methods' | 'c2d' | 'inputs';

/** The feature a SUBSCRIBE topic filter stands for, or undefined when IoT Hub does not offer it to this identity. */
export function featureOf(
  filter: string,
  deviceId: string,
  moduleId: string | undefined,
): Feature | undefined {
  if (filter === '$iothub/twin/res/#') return 'twinResponses';
  if (filter === '$iothub/twin/PATCH/properties/desired/#') return 'desired';
  if (filter === '$iothub/methods/POST/#') return 'methods';
  if (moduleId === undefined && filter === `devices/${deviceId}/messages/devicebound/#`) return 'c2d';
  if (moduleId !== undefined && filter === `devices/${deviceId}/modules/${moduleId}/inputs/#`)
    return 'inputs';
  return undefined;
}

export type DevicePublish =
  | { kind: 'event'; deviceId: string; moduleId: string | undefined; propertyBag: string }
  | { kind: 'twinGet'; rid: string }
  | { kind: 'reportedPatch'; rid: string }
  | { kind: 'methodResponse'; rid: string; status: number }
  | { kind: 'unknown' };

const EVENTS_TOPIC = /^devices\/([^/]+)\/(?:modules\/([^/]+)\/)?messages\/events(?:\/(.*))?$/;
const METHOD_RESPONSE = /^\$iothub\/methods\/res\/(\d{3})\/?$/;

/** Reads a topic a device published on. */
export function classifyPublish(topic: string): DevicePublish {
  const events = EVENTS_TOPIC.exec(topic);
  if (events) {
    return {
      kind: 'event',
      deviceId: events[1] as string,
      moduleId: events[2],
      // The SDK ends a non-empty property bag with '/', which IoT Hub allows.
      propertyBag: (events[3] ?? '').replace(/\/$/, ''),
    };
  }
  const [path = '', query = ''] = topic.split('?');
  const rid = new URLSearchParams(query).get('$rid') ?? '';
  const bare = path.replace(/\/$/, '');
  if (bare === '$iothub/twin/GET') return { kind: 'twinGet', rid };
  if (bare === '$iothub/twin/PATCH/properties/reported') return { kind: 'reportedPatch', rid };
  const methodResponse = METHOD_RESPONSE.exec(path);
  if (methodResponse) return { kind: 'methodResponse', rid, status: Number(methodResponse[1]) };
  return { kind: 'unknown' };
}

export const twinResponseTopic = (status: number, rid: string, version?: number): string =>
  `$iothub/twin/res/${status}/?$rid=${rid}${version === undefined ? '' : `&$version=${version}`}`;

export const desiredPatchTopic = (version: number): string =>
  `$iothub/twin/PATCH/properties/desired/?$version=${version}`;

export const methodRequestTopic = (methodName: string, rid: string): string =>
  `$iothub/methods/POST/${methodName}/?$rid=${rid}`;

/** `devices/{id}/messages/devicebound/{property bag}` with IoT Hub's system properties first. */
export function cloudToDeviceTopic(
  deviceId: string,
  message: { messageId?: string; correlationId?: string; properties?: Record<string, string> },
): string {
  const bag = new URLSearchParams();
  if (message.messageId) bag.set('$.mid', message.messageId);
  if (message.correlationId) bag.set('$.cid', message.correlationId);
  bag.set('$.to', `/devices/${deviceId}/messages/devicebound`);
  for (const [k, v] of Object.entries(message.properties ?? {})) bag.set(k, v);
  return `devices/${deviceId}/messages/devicebound/${bag.toString().replaceAll('+', '%20')}`;
}
