/**
 * Direct methods from the agent to a module: request on `$iothub/methods/POST/{name}/?$rid=…`,
 * response on `$iothub/methods/res/{status}/?$rid=…`, with IoT Hub's timeout range (5–300 s).
 */
import { HubError } from './errors.js';
import { methodRequestTopic } from './topics.js';

export interface MethodRequest {
  methodName: string;
  payload?: unknown;
  /** Default 30 s; 5–300 s as in IoT Hub. */
  responseTimeoutInSeconds?: number;
}

export interface MethodResult {
  status: number;
  payload: unknown;
}

interface Pending {
  moduleId: string;
  resolve(result: MethodResult): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** Publishes to a module; false when it is not connected or not listening for methods. */
export type MethodPublisher = (moduleId: string, topic: string, payload: string) => boolean;

export class MethodCalls {
  private readonly pending = new Map<string, Pending>();
  private nextRid = 1;

  constructor(private readonly publish: MethodPublisher) {}

  invoke(moduleId: string, request: MethodRequest): Promise<MethodResult> {
    const timeoutSecs = request.responseTimeoutInSeconds ?? 30;
    if (!/^[^/#+$][^/#+]*$/.test(request.methodName))
      return Promise.reject(
        new HubError('METHOD_INVALID', `'${request.methodName}' is not a method name`, { httpStatus: 400 }),
      );
    if (timeoutSecs < 5 || timeoutSecs > 300)
      return Promise.reject(
        new HubError('METHOD_INVALID', `the response timeout must be 5 to 300 seconds, not ${timeoutSecs}`, {
          httpStatus: 400,
        }),
      );
    const rid = (this.nextRid++).toString(16);
    return new Promise<MethodResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject(
          new HubError(
            'METHOD_TIMEOUT',
            `module ${moduleId} did not answer ${request.methodName} within ${timeoutSecs} s`,
            {
              httpStatus: 504,
            },
          ),
        );
      }, timeoutSecs * 1000);
      this.pending.set(rid, { moduleId, resolve, reject, timer });
      const body = JSON.stringify(request.payload ?? null);
      if (!this.publish(moduleId, methodRequestTopic(request.methodName, rid), body)) {
        clearTimeout(timer);
        this.pending.delete(rid);
        reject(
          new HubError(
            'MODULE_NOT_CONNECTED',
            `module ${moduleId} is not connected or does not listen for methods`,
            {
              httpStatus: 404,
            },
          ),
        );
      }
    });
  }

  /** A module answered; answers to unknown or foreign requests are ignored. */
  respond(moduleId: string, rid: string, status: number, payload: Buffer): void {
    const call = this.pending.get(rid);
    if (!call || call.moduleId !== moduleId) return;
    this.pending.delete(rid);
    clearTimeout(call.timer);
    call.resolve({ status, payload: parseJson(payload) });
  }

  /** The module's connection dropped: its pending calls cannot be answered any more. */
  moduleGone(moduleId: string): void {
    for (const [rid, call] of this.pending) {
      if (call.moduleId !== moduleId) continue;
      this.pending.delete(rid);
      clearTimeout(call.timer);
      call.reject(
        new HubError('MODULE_NOT_CONNECTED', `module ${moduleId} disconnected before answering`, {
          httpStatus: 404,
        }),
      );
    }
  }

  close(): void {
    for (const call of this.pending.values()) {
      clearTimeout(call.timer);
      call.reject(new HubError('MODULE_NOT_CONNECTED', 'the hub is closing', { httpStatus: 404 }));
    }
    this.pending.clear();
  }
}

function parseJson(payload: Buffer): unknown {
  if (payload.length === 0) return null;
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    // Not JSON: hand the text back as the module wrote it.
    return payload.toString('utf8');
  }
}
