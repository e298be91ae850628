/**
 * Direct method calls in flight: IoT Hub waits up to `connectTimeoutInSeconds` for the device (or
 * module) to be connected and subscribed to `$iothub/methods/POST/#`, publishes
 * `$iothub/methods/POST/{name}/?$rid={rid}`, then waits up to `responseTimeoutInSeconds` for the
 * device's `$iothub/methods/res/{status}/?$rid={rid}`. Failures are IoT Hub's: 404
 * DeviceNotOnline, 504 GatewayTimeout, 400 for timeouts out of IoT Hub's range.
 */
import { badRequest, HubError } from './errors.js';
import { methodRequestTopic } from './mqtt-topics.js';

export interface MethodRequest {
  methodName: string;
  payload?: unknown;
  responseTimeoutInSeconds?: number;
  connectTimeoutInSeconds?: number;
}

export interface MethodResult {
  status: number;
  payload: unknown;
}

export interface MethodTarget {
  clientId: string;
  publish(topic: string, payload: string): void;
}

export interface DirectMethodDeps {
  findSession(deviceId: string, moduleId: string | undefined): MethodTarget | undefined;
  /** Subscribes to "a connection or subscription changed"; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}

interface Pending {
  clientId: string;
  resolve(result: MethodResult): void;
}

/** IoT Hub's bounds (seconds). */
export const METHOD_TIMEOUTS = {
  minResponse: 5,
  maxResponse: 300,
  maxConnect: 300,
  defaultResponse: 30,
} as const;

export class DirectMethodCalls {
  private readonly pending = new Map<string, Pending>();
  private counter = 0;

  constructor(private readonly deps: DirectMethodDeps) {}

  async invoke(
    deviceId: string,
    moduleId: string | undefined,
    request: MethodRequest,
  ): Promise<MethodResult> {
    const responseTimeout = request.responseTimeoutInSeconds ?? METHOD_TIMEOUTS.defaultResponse;
    const connectTimeout = request.connectTimeoutInSeconds ?? 0;
    if (typeof request.methodName !== 'string' || request.methodName.length === 0) {
      throw badRequest('methodName is required');
    }
    if (
      !Number.isInteger(responseTimeout) ||
      responseTimeout < METHOD_TIMEOUTS.minResponse ||
      responseTimeout > METHOD_TIMEOUTS.maxResponse
    ) {
      throw badRequest(
        `responseTimeoutInSeconds must be an integer from ${METHOD_TIMEOUTS.minResponse} to ${METHOD_TIMEOUTS.maxResponse}`,
      );
    }
    if (
      !Number.isInteger(connectTimeout) ||
      connectTimeout < 0 ||
      connectTimeout > METHOD_TIMEOUTS.maxConnect
    ) {
      throw badRequest(`connectTimeoutInSeconds must be an integer from 0 to ${METHOD_TIMEOUTS.maxConnect}`);
    }
    const target = await this.waitForTarget(deviceId, moduleId, connectTimeout * 1000);
    const rid = (++this.counter).toString(16);
    return new Promise<MethodResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject(new HubError(504, 'GatewayTimeout', 'Timed out waiting for the response from device.'));
      }, responseTimeout * 1000);
      this.pending.set(rid, {
        clientId: target.clientId,
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
      });
      target.publish(methodRequestTopic(request.methodName, rid), JSON.stringify(request.payload ?? null));
    });
  }

  /** A device's response; ignored unless it comes from the connection the call went to. */
  respond(clientId: string, rid: string, status: number, body: Buffer): void {
    const call = this.pending.get(rid);
    if (!call || call.clientId !== clientId) return;
    this.pending.delete(rid);
    call.resolve({ status, payload: parsePayload(body) });
  }

  private waitForTarget(
    deviceId: string,
    moduleId: string | undefined,
    timeoutMs: number,
  ): Promise<MethodTarget> {
    const found = this.deps.findSession(deviceId, moduleId);
    if (found) return Promise.resolve(found);
    const notOnline = () => new HubError(404, 'DeviceNotOnline', 'Timed out waiting for device to connect.');
    if (timeoutMs === 0) return Promise.reject(notOnline());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        unsubscribe();
        reject(notOnline());
      }, timeoutMs);
      const unsubscribe = this.deps.onChange(() => {
        const target = this.deps.findSession(deviceId, moduleId);
        if (!target) return;
        clearTimeout(timer);
        unsubscribe();
        resolve(target);
      });
    });
  }
}

function parsePayload(body: Buffer): unknown {
  if (body.length === 0) return null;
  const text = body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    // IoT Hub passes a non-JSON response through as text.
    return text;
  }
}
