import { randomUUID } from 'node:crypto';
import { ModelportError } from '../../../common/errors.js';

/**
 * An error IoT Hub itself would answer with: an HTTP status plus one of IoT Hub's error codes
 * (`DeviceNotFound`, `PreconditionFailed`, …). The REST layer turns it into IoT Hub's error body,
 * the MQTT layer into a twin/method error response.
 */
export class HubError extends ModelportError {
  /** IoT Hub's error code name, e.g. `DeviceNotFound`. */
  readonly hubCode: string;

  constructor(httpStatus: number, hubCode: string, message: string) {
    super(`HUB_${hubCode.toUpperCase()}`, message, { httpStatus });
    this.hubCode = hubCode;
  }
}

export function isHubError(e: unknown): e is HubError {
  return e instanceof HubError;
}

/** Errors of the emulator as a test tool (bad helper arguments, waits that time out). */
export class EmulatorError extends ModelportError {}

export const badRequest = (message: string): HubError => new HubError(400, 'ArgumentInvalid', message);
export const unauthorized = (message: string): HubError =>
  new HubError(401, 'IotHubUnauthorizedAccess', message);
export const deviceNotFound = (deviceId: string): HubError =>
  new HubError(404, 'DeviceNotFound', `Device ${deviceId} not registered`);
export const moduleNotFound = (deviceId: string, moduleId: string): HubError =>
  new HubError(404, 'ModuleNotFound', `Module ${moduleId} on device ${deviceId} not registered`);
export const preconditionFailed = (message: string): HubError =>
  new HubError(412, 'PreconditionFailed', message);

/**
 * IoT Hub's REST error body. The service SDK parses `Message` as `ErrorCode:<code>;<text>` and maps
 * the HTTP status to its error classes (404 + `DeviceNotFound` → DeviceNotFoundError, 412 →
 * InvalidEtagError, …), so this exact shape matters.
 */
export function restErrorBody(e: HubError, now: Date): { Message: string; ExceptionMessage: string } {
  return {
    Message: `ErrorCode:${e.hubCode};${e.message}`,
    ExceptionMessage: `Tracking ID:${randomUUID().replaceAll('-', '')}-G:0-TimeStamp:${now.toISOString()}`,
  };
}

/** IoT Hub's numeric error codes for the codes the emulator uses (shown in MQTT error bodies). */
const NUMERIC_CODES: Record<string, number> = {
  ArgumentInvalid: 400004,
  IotHubUnauthorizedAccess: 401002,
  DeviceNotFound: 404001,
  ModuleNotFound: 404010,
  DeviceNotOnline: 404103,
  PreconditionFailed: 412002,
  GatewayTimeout: 504101,
};

/** The JSON body of an error answered over MQTT (twin responses); the device SDK reads `errorCode` and `message`. */
export function mqttErrorBody(e: HubError, now: Date): Record<string, unknown> {
  return {
    errorCode: NUMERIC_CODES[e.hubCode] ?? e.httpStatus * 1000,
    trackingId: randomUUID().replaceAll('-', ''),
    message: e.message,
    timestampUtc: now.toISOString(),
  };
}
