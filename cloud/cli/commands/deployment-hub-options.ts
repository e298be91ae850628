/** The IoT Hub options every fleet command shares, resolved once (flags > env > defaults). */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../../common/errors.js';
import { DEFAULT_HUB_TIMEOUT_MS } from '../../fleet/connection-string.js';
import type { HubClient } from '../../fleet/hub-client.js';
import type { CliContext } from '../context.js';

export const HUB_CONNECTION_STRING_ENV = 'MODELPORT_HUB_CONNECTION_STRING';
export const HUB_CA_ENV = 'MODELPORT_HUB_CA';

export interface HubOptions {
  hubConnectionString?: string;
  hubCa?: string;
  timeout?: string;
  json?: boolean;
}

export function addHubOptions(command: Command): Command {
  return command
    .option(
      '--hub-connection-string <connection-string>',
      `IoT Hub service connection string with registry read/write rights (default: $${HUB_CONNECTION_STRING_ENV})`,
    )
    .option('--hub-ca <file>', `extra CA certificate (PEM) to trust for the hub (default: $${HUB_CA_ENV})`)
    .option(
      '--timeout <seconds>',
      `seconds to wait for each hub request (default ${DEFAULT_HUB_TIMEOUT_MS / 1000})`,
    )
    .option('--json', 'print one JSON document');
}

function parseTimeout(text: string | undefined): number {
  if (text === undefined) return DEFAULT_HUB_TIMEOUT_MS;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError('TIMEOUT_INVALID', `--timeout '${text}' must be a positive number of seconds`);
  }
  return Math.round(seconds * 1000);
}

/** Opens a hub client from the options (the connection string's key is never printed), runs `use`, closes it. */
export async function withHub<T>(
  opts: HubOptions,
  ctx: CliContext,
  use: (hub: HubClient) => Promise<T>,
): Promise<T> {
  const fromFlag = opts.hubConnectionString;
  const connectionString = fromFlag ?? ctx.env[HUB_CONNECTION_STRING_ENV];
  if (!connectionString) {
    throw new UsageError(
      'HUB_CONNECTION_STRING_MISSING',
      `no IoT Hub connection string: pass --hub-connection-string or set ${HUB_CONNECTION_STRING_ENV}`,
      { hint: 'az iot hub connection-string show --hub-name HUB --policy-name registryReadWrite' },
    );
  }
  const caFile = opts.hubCa ?? ctx.env[HUB_CA_ENV];
  let caPem: string | undefined;
  if (caFile) {
    const path = resolve(ctx.cwd, caFile);
    caPem = await readFile(path, 'utf8').catch((e: Error) => {
      throw new UsageError('HUB_CA_UNREADABLE', `cannot read the hub CA file ${path}: ${e.message}`);
    });
  }
  // Loaded on demand: azure-iothub takes about a second to import, which no other command should pay.
  const { HubClient } = await import('../../fleet/hub-client.js');
  const hub = HubClient.fromConnectionString(connectionString, {
    source: fromFlag !== undefined ? '--hub-connection-string' : HUB_CONNECTION_STRING_ENV,
    timeoutMs: parseTimeout(opts.timeout),
    ...(caPem !== undefined && { caPem }),
  });
  try {
    return await use(hub);
  } finally {
    hub.close();
  }
}
