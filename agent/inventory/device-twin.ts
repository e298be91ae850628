/**
 * Publishes the hardware inventory to the *device* twin's reported properties
 * (`properties.reported.modelport.inventory`), which is what IoT Hub's deployment target conditions
 * read: a `$edgeAgent` module twin is not queryable by them. Needs the device identity (a module
 * identity cannot write the device twin), so it runs only with `--device-connection-string`.
 * Connects, writes once, closes; retries with back-off while IoT Hub is unreachable. Each attempt uses
 * no SDK retries (the SDK's own would ignore the abort signal for minutes) and is cut short by abort.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import common from 'azure-iot-common';
import deviceSdk, { type Twin } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import type { Logger } from '../../common/logger.js';
import type { Inventory } from './inventory.js';

export interface DeviceTwinPublishOptions {
  connectionString: string;
  /** PEM file of the CA that signed the hub's certificate; read at every attempt (it may appear later). */
  caFile?: string;
  inventory: Inventory;
  signal: AbortSignal;
  logger: Logger;
  backoff?: { initialMs: number; maxMs: number };
}

type JsonObject = Record<string, unknown>;

/**
 * A merge patch that turns `previous` into `next`: keys that disappeared (a GPU removed) become null,
 * since a reported-properties patch never deletes on its own.
 */
export function replacementPatch(previous: unknown, next: JsonObject): JsonObject {
  const patch: JsonObject = { ...next };
  if (previous && typeof previous === 'object' && !Array.isArray(previous)) {
    for (const key of Object.keys(previous)) {
      if (key.startsWith('$')) continue;
      if (!(key in next)) patch[key] = null;
      else {
        const before = (previous as JsonObject)[key];
        const after = next[key];
        if (isObject(before) && isObject(after)) patch[key] = replacementPatch(before, after);
      }
    }
  }
  return patch;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Resolves true once the hub holds the inventory, false when `signal` aborts first. */
export async function publishInventoryToDeviceTwin(o: DeviceTwinPublishOptions): Promise<boolean> {
  const { initialMs, maxMs } = o.backoff ?? { initialMs: 1_000, maxMs: 60_000 };
  let delay = initialMs;
  for (let attempt = 1; !o.signal.aborted; attempt++) {
    try {
      await writeOnce(o);
      o.logger.info(
        { event: 'inventory-published', attempt },
        'hardware inventory written to the device twin (properties.reported.modelport.inventory)',
      );
      return true;
    } catch (e) {
      if (o.signal.aborted) break;
      o.logger.warn(
        { event: 'inventory-publish-failed', attempt, err: (e as Error).message, retryInMs: delay },
        `could not write the inventory to the device twin: ${(e as Error).message}`,
      );
    }
    await sleep(delay, undefined, { signal: o.signal }).catch(() => undefined);
    delay = Math.min(delay * 2, maxMs);
  }
  return false;
}

async function writeOnce(o: DeviceTwinPublishOptions): Promise<void> {
  const client = deviceSdk.Client.fromConnectionString(o.connectionString, Mqtt);
  client.setRetryPolicy(new common.NoRetry());
  let fail: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    fail = () => reject(new Error('stopping'));
    if (o.signal.aborted) fail();
    o.signal.addEventListener('abort', fail, { once: true });
  });
  aborted.catch(() => undefined);
  const orAbort = <T>(p: Promise<T>): Promise<T> => Promise.race([p, aborted]);
  try {
    if (o.caFile) await client.setOptions({ ca: readFileSync(o.caFile, 'utf8') });
    await orAbort(client.open());
    const twin: Twin = await orAbort(client.getTwin());
    // Only `modelport.inventory` is ours to replace; other reported keys stay as they are.
    const previous = (twin.properties.reported as JsonObject)['modelport'];
    const patch = {
      modelport: {
        inventory: replacementPatch(
          isObject(previous) ? previous['inventory'] : undefined,
          o.inventory as unknown as JsonObject,
        ),
      },
    };
    await orAbort(
      new Promise<void>((resolve, reject) =>
        twin.properties.reported.update(patch, (err?: Error) => (err ? reject(err) : resolve())),
      ),
    );
  } finally {
    o.signal.removeEventListener('abort', fail);
    await client.close().catch(() => undefined);
  }
}
