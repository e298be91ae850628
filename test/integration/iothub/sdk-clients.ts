/**
 * Real Azure SDK clients pointed at an emulator, and small waits for asynchronous effects.
 * Device clients trust the emulator's CA with the SDK's own `setOptions({ ca })`; service clients
 * get the emulator's https agent (see test/support/iothub/service-client.ts).
 */
import { Client as DeviceClient, ModuleClient, type Twin } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import { Registry, Client as ServiceClient } from 'azure-iothub';
import { expect } from 'vitest';
import type { Feature, HubEmulator } from '../../support/iothub/index.js';

/**
 * `setOptions` must be awaited before `open()`: the SDK first tries to read `ca` as a file path
 * (fs.readFile) and only then, asynchronously, applies it — an open() racing it fails TLS.
 */
export async function deviceClient(hub: HubEmulator, connectionString: string): Promise<DeviceClient> {
  const client = DeviceClient.fromConnectionString(connectionString, Mqtt);
  await client.setOptions({ ca: hub.ca });
  return client;
}

export async function moduleClient(hub: HubEmulator, connectionString: string): Promise<ModuleClient> {
  const client = ModuleClient.fromConnectionString(connectionString, Mqtt);
  await client.setOptions({ ca: hub.ca });
  return client;
}

export function registryOf(hub: HubEmulator, connectionString = hub.serviceConnectionString): Registry {
  return hub.configureServiceClient(Registry.fromConnectionString(connectionString));
}

export function serviceClientOf(hub: HubEmulator): ServiceClient {
  return hub.configureServiceClient(ServiceClient.fromConnectionString(hub.serviceConnectionString));
}

/**
 * Closes SDK clients, waiting at most 5 s: a device client caught mid-reconnect can take minutes to
 * settle its close, and the emulator's stop() drops its socket anyway.
 */
export async function closeAll(clients: Array<{ close(): Promise<unknown> }>): Promise<void> {
  const closing = Promise.allSettled(clients.splice(0).map((c) => c.close()));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    closing,
    new Promise((r) => {
      timer = setTimeout(r, 5000);
    }),
  ]);
  clearTimeout(timer);
}

/**
 * `twin.properties.reported.update` takes only a callback in azure-iot-device 1.18 (it returns
 * nothing, and throws later if called without one), so tests wrap it.
 */
export function reportProperties(twin: Twin, patch: Record<string, unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    twin.properties.reported.update(patch, (err?: Error) => (err ? reject(err) : resolve()));
  });
}

/** Resolves with the next desired-properties patch for which `predicate` holds. */
export function nextDesired(
  twin: Twin,
  predicate: (desired: Record<string, unknown>) => boolean,
  timeoutMs = 10_000,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      twin.removeListener('properties.desired', listener);
      reject(new Error(`no matching desired properties within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (desired: Record<string, unknown>) => {
      if (!predicate(desired)) return;
      clearTimeout(timer);
      twin.removeListener('properties.desired', listener);
      resolve(desired);
    };
    twin.on('properties.desired', listener);
  });
}

/**
 * Waits until the emulator has the identity's SUBSCRIBE for `feature`. The SDK subscribes in the
 * background (on `twin.on('properties.desired')`, `onMethod`…), and IoT Hub, like the emulator,
 * does not push to a client that has not subscribed yet.
 */
export function untilSubscribed(
  hub: HubEmulator,
  deviceId: string,
  moduleId: string | undefined,
  feature: Feature,
): Promise<void> {
  return eventually(() => {
    expect(hub.subscriptions(deviceId, moduleId)).toContain(feature);
  });
}

/** Retries `check` (which throws until its condition holds) every 50 ms for up to `timeoutMs`. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejectionOf(
  promise: Promise<unknown>,
): Promise<Error & { response?: { statusCode?: number }; responseBody?: string }> {
  try {
    await promise;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
