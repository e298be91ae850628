/**
 * Records to the IoT Edge hub on an output (`collect`), through the stock module client:
 * `ModuleClient.fromEnvironment(Mqtt)`, the way any IoT Edge module connects (under modelport's
 * agent or the real runtime alike). The SDK is imported on the first record, so serving without
 * collection never loads it. A send that fails (hub unreachable, agent restarting) or is not
 * acknowledged in time throws the client away; the queue retries the record on a new one.
 * The SDK's own retries are off: the queue owns retrying, and a send must not hang for minutes.
 */
import type { ModuleClient } from 'azure-iot-device';
import type { EncodedRecord } from './encode.js';
import type { CollectSink } from './queue.js';

export interface EdgeHubSinkOptions {
  output: string;
  /** A send not acknowledged after this long fails (default 30 s). */
  sendTimeoutMs?: number;
  onClientError?: (error: unknown) => void;
}

type Sdk = {
  device: typeof import('azure-iot-device');
  Mqtt: typeof import('azure-iot-device-mqtt').Mqtt;
  NoRetry: typeof import('azure-iot-common').NoRetry;
};

/** Node's ESM loader puts a CommonJS package's exports on `default` (and only some on names). */
const commonJs = <T>(mod: T): T => (mod as { default?: T }).default ?? mod;

async function loadSdk(): Promise<Sdk> {
  const [device, mqtt, common] = await Promise.all([
    import('azure-iot-device'),
    import('azure-iot-device-mqtt'),
    import('azure-iot-common'),
  ]);
  return { device: commonJs(device), Mqtt: commonJs(mqtt).Mqtt, NoRetry: commonJs(common).NoRetry };
}

export class EdgeHubSink implements CollectSink {
  private sdk: Promise<Sdk> | undefined;
  private client: Promise<ModuleClient> | undefined;
  private closed = false;

  constructor(private readonly options: EdgeHubSinkOptions) {}

  async send(record: EncodedRecord): Promise<void> {
    if (this.closed) throw new Error('the collection sink is closed');
    const { device } = await this.loadedSdk();
    const client = await this.connected();
    const message = new device.Message(record.body);
    message.messageId = record.messageId;
    message.contentType = 'application/json';
    message.contentEncoding = 'utf-8';
    for (const [name, value] of Object.entries(record.properties)) message.properties.add(name, value);
    try {
      await withTimeout(
        client.sendOutputEvent(this.options.output, message),
        this.options.sendTimeoutMs ?? 30_000,
      );
    } catch (e) {
      this.discard(client);
      throw e;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    if (client)
      await client.then(
        (c) => closeQuietly(c),
        () => undefined,
      );
  }

  private loadedSdk(): Promise<Sdk> {
    this.sdk ??= loadSdk();
    return this.sdk;
  }

  private connected(): Promise<ModuleClient> {
    this.client ??= this.open().catch((e: unknown) => {
      this.client = undefined;
      throw e;
    });
    return this.client;
  }

  private async open(): Promise<ModuleClient> {
    const { device, Mqtt, NoRetry } = await this.loadedSdk();
    const client = await device.ModuleClient.fromEnvironment(Mqtt);
    // Every 'error' needs a listener (an unhandled one ends the process); a drop discards the client.
    client.on('error', (e: Error) => {
      this.options.onClientError?.(e);
      this.discard(client);
    });
    client.on('disconnect', () => this.discard(client));
    client.setRetryPolicy(new NoRetry());
    try {
      await client.open();
    } catch (e) {
      await closeQuietly(client);
      throw e;
    }
    return client;
  }

  private discard(client: ModuleClient): void {
    const current = this.client;
    if (!current) return;
    void current.then(
      (c) => {
        if (c !== client) return;
        if (this.client === current) this.client = undefined;
        void closeQuietly(c);
      },
      () => undefined,
    );
  }
}

async function closeQuietly(client: ModuleClient): Promise<void> {
  client.removeAllListeners();
  client.on('error', () => undefined);
  await withTimeout(
    client.close().then(() => undefined),
    5_000,
  ).catch(() => undefined);
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the edge hub did not acknowledge within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
