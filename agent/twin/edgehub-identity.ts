/**
 * The agent's `$edgeHub` identity (`--edgehub-connection-string`), the second module identity the
 * real IoT Edge runtime uses: its connection carries module messages upstream and holds the
 * `$edgeHub` reported properties; in hub mode its twin's desired properties are the routes.
 *
 * Desired properties that do not pass the schema (a route priority of 12, a wrong schemaVersion)
 * are reported like routes that do not parse: `lastDesiredStatus` 400 with the reason, and the
 * previous routes stay.
 */
import { messageOf } from '../../common/errors.js';
import { parseEdgeHubDesired } from '../../manifests/parse.js';
import type { AgentEdgeServices } from '../agent.js';
import type { AgentConfig } from '../config.js';
import type { EdgeReporting } from '../hub/edge-reporting.js';
import type { AgentStore } from '../state/store.js';
import type { EdgeHubDesiredStream } from './edgehub-stream.js';
import type { TwinEvents } from './events.js';

export interface EdgeHubIdentityDeps {
  config: Pick<AgentConfig, 'mode' | 'caFile'>;
  store: Pick<AgentStore, 'recordEdgeHubDesired' | 'latestEdgeHubDesired'>;
  stream: EdgeHubDesiredStream;
  services: Pick<AgentEdgeServices, 'attachUpstream' | 'upstreamConnected' | 'rejectDesired'> | undefined;
  reporting: () => EdgeReporting | undefined;
  events: TwinEvents;
}

/**
 * One `$edgeHub` desired document (twin shape, with `$version`): published to the local hub when it
 * parses and stored for the next start; otherwise reported as rejected, the routes unchanged.
 */
export function takeEdgeHubDesired(desired: Record<string, unknown>, deps: EdgeHubIdentityDeps): boolean {
  const { $version, $metadata: _metadata, ...rest } = desired;
  const version = typeof $version === 'number' ? $version : 0;
  let edgeHub: ReturnType<typeof parseEdgeHubDesired>;
  try {
    edgeHub = parseEdgeHubDesired(rest);
  } catch (e) {
    deps.events.desiredIgnored('$edgeHub', messageOf(e));
    deps.services?.rejectDesired(version, `$edgeHub desired properties rejected: ${messageOf(e)}`);
    return false;
  }
  deps.store.recordEdgeHubDesired(version, JSON.stringify(rest));
  deps.stream.publish({ version, edgeHub, moduleTwins: {} });
  return true;
}

/** Hub mode: the routes of the last run hold until the `$edgeHub` twin is read again (maybe offline). */
export function replayEdgeHubDesired(deps: EdgeHubIdentityDeps): void {
  const stored = deps.store.latestEdgeHubDesired();
  if (!stored || deps.stream.current) return;
  try {
    deps.stream.publish({
      version: stored.version,
      edgeHub: parseEdgeHubDesired(JSON.parse(stored.body)),
      moduleTwins: {},
    });
  } catch (e) {
    deps.events.desiredIgnored('$edgeHub', messageOf(e));
  }
}

/** Runs the `$edgeHub` connection until `signal` aborts. */
export async function runEdgeHubIdentity(
  connectionString: string,
  signal: AbortSignal,
  deps: EdgeHubIdentityDeps,
): Promise<void> {
  // Loaded here only: the device SDK costs memory an agent without this identity does not need.
  const { HubConnection } = await import('./hub-connection.js');
  const hub = new HubConnection({
    connectionString,
    ...(deps.config.caFile && { caFile: deps.config.caFile }),
    events: deps.events,
    label: '$edgeHub',
  });
  const services = deps.services;
  if (services) {
    services.attachUpstream(hub.upstream);
    hub.onConnected((reported) => {
      deps.reporting()?.attachTwin((patch) => hub.updateReported(patch), reported);
      services.upstreamConnected();
    });
  }
  // Offline the manifest file holds the routes; the twin's desired properties are not followed.
  if (deps.config.mode === 'hub') hub.onDesired((desired) => void takeEdgeHubDesired(desired, deps));
  try {
    await hub.run(signal);
  } finally {
    deps.reporting()?.detachTwin();
  }
}
