/**
 * Delivers outbox messages to IoT Hub through an injected device-SDK client (azure-iot-device over
 * azure-iot-device-mqtt): a `ModuleClient` for `$edgeHub`, the agent's own connection, or any
 * client with `sendEvent`. QoS 1: the SDK's promise settles on IoT Hub's PUBACK. The message id
 * stored with the message is sent every time, so a retried message keeps its id.
 */
import deviceSdk, { type Message } from 'azure-iot-device';
import type { StoredMessage } from './message.js';

/** What the sender needs of a device or module client of azure-iot-device. */
export interface DeviceClientLike {
  sendEvent(message: Message): Promise<unknown>;
  sendOutputEvent?(outputName: string, message: Message): Promise<unknown>;
}

/** Errors after which the SDK will never deliver this message: the sender drops it (counted). */
const PERMANENT_ERRORS = new Set([
  'MessageTooLargeError',
  'ArgumentError',
  'ArgumentOutOfRangeError',
  'FormatError',
]);

export function toIotHubMessage(stored: StoredMessage): Message {
  // Node's ESM loader sees only `Client` among the named exports of this CommonJS package.
  const message = new deviceSdk.Message(stored.body);
  message.messageId = stored.messageId;
  const sys = stored.systemProperties;
  // The SDK's types list only the values IoT Hub routing understands; it sends any string as written.
  if (sys.contentType) message.contentType = sys.contentType as Message['contentType'];
  if (sys.contentEncoding) message.contentEncoding = sys.contentEncoding as Message['contentEncoding'];
  if (sys.correlationId) message.correlationId = sys.correlationId;
  for (const [name, value] of Object.entries(stored.appProperties)) message.properties.add(name, value);
  return message;
}

export interface IotHubDelivery {
  deliver(stored: StoredMessage): Promise<void>;
  isPermanent(error: unknown): boolean;
}

export function iotHubDelivery(client: DeviceClientLike): IotHubDelivery {
  return {
    deliver: async (stored) => {
      const message = toIotHubMessage(stored);
      const output = stored.systemProperties.outputName;
      // Through a module client the output name travels as IoT Hub's `$.on`, as edgeHub forwards it.
      if (output && client.sendOutputEvent) await client.sendOutputEvent(output, message);
      else await client.sendEvent(message);
    },
    isPermanent: (error) => error instanceof Error && PERMANENT_ERRORS.has(error.name),
  };
}
