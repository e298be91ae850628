/**
 * The agent's configuration → the edge services it runs (local hub, outbox, telemetry): device
 * identity, hub port and names, outbox cap, and the home as the Docker host sees it.
 */
import type Docker from 'dockerode';
import { messageOf } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { AgentConfig } from '../config.js';
import { type EdgeServices, startEdgeServices } from './edge-services.js';
import { detectHostHome } from './host-home.js';
import { DEFAULT_HUB_PORT } from './hub.js';

/** Offline without a `$edgeHub` identity, modules sign their tokens for this IoT Hub name. */
export const OFFLINE_IOT_HUB_HOST_NAME = 'localhost';

export async function startEdgeServicesFor(
  config: AgentConfig,
  deps: { docker: Docker; log: Logger },
): Promise<EdgeServices> {
  const hostHome = config.hostHome ?? (await hostHomeOf(deps.docker, config.home, deps.log));
  return startEdgeServices({
    home: config.home,
    deviceId: config.deviceId ?? config.agentId,
    iotHubHostName: config.hostName ?? OFFLINE_IOT_HUB_HOST_NAME,
    ...(config.gatewayHostName !== undefined && { gatewayHostName: config.gatewayHostName }),
    ...(config.hubListenHost !== undefined && { listenHost: config.hubListenHost }),
    ...(config.hubPort !== undefined ? { port: config.hubPort } : { preferredPort: DEFAULT_HUB_PORT }),
    ...(config.outboxCapBytes !== undefined && { outboxCapBytes: config.outboxCapBytes }),
    ...(hostHome !== undefined && { hostHome }),
    telemetryIntervalSecs: config.telemetryIntervalMs / 1000,
    docker: deps.docker,
    agentId: config.agentId,
    log: deps.log,
  });
}

async function hostHomeOf(docker: Docker, home: string, log: Logger): Promise<string | undefined> {
  try {
    const found = await detectHostHome(docker, home);
    if (found.containerId && found.hostHome === undefined) {
      log.warn(
        { event: 'host-home-unknown', home, containerId: found.containerId },
        `the agent runs in a container but ${home} is not on a mount: modules cannot bind the hub's CA file (mount the home, or give --host-home)`,
      );
    }
    return found.hostHome;
  } catch (e) {
    // In a container the engine does not know (or the engine is down): binds use the home path as it is.
    log.warn(
      { event: 'host-home-unknown', home, err: messageOf(e) },
      `cannot tell where ${home} is on the Docker host (${messageOf(e)}); give --host-home if the agent runs in a container`,
    );
    return undefined;
  }
}
