/**
 * The agent's configuration, resolved once at start: command-line flags, then environment variables,
 * then defaults. Pure (argv and env come in); `--help` / `--version` and bad flags surface as
 * commander errors that the process edge maps to exit codes.
 */
import os from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { UsageError } from '../common/errors.js';
import { parseDeviceConnectionString, parseModuleConnectionString } from './twin/connection-string.js';

export interface AgentConfig {
  mode: 'file' | 'hub';
  /** Offline mode: the manifest file to apply and watch. */
  manifest?: string;
  /** Hub mode: the `$edgeAgent` module connection string. */
  connectionString?: string;
  /** Hub mode: the `$edgeHub` module connection string (its twin holds the routes). */
  edgeHubConnectionString?: string;
  /** The device's own connection string: the inventory goes to the device twin, where target conditions read it. */
  deviceConnectionString?: string;
  /** PEM file of the CA that signed IoT Hub's certificate (only needed for a private CA). */
  caFile?: string;
  /** MODELPORT_AGENT_HOME: agent.db, reported.json. */
  home: string;
  /** Labels this agent's containers: the device id in hub mode, `local` offline. */
  agentId: string;
  deviceId?: string;
  hostName?: string;
  healthWindowMs: number;
  healthStableMs: number;
  restartCoolOffMs: number;
  maxRestarts: number;
  intervalMs: number;
  stopTimeoutSeconds: number;
  /** Telemetry rounds (device, modules, outbox) every this many ms; 0 = off. */
  telemetryIntervalMs: number;
  /** The local hub's port; unset: the port of the last run, else DEFAULT_HUB_PORT, else any free one. */
  hubPort?: number;
  /** The local hub's listen address (default 127.0.0.1 and ::1). */
  hubListenHost?: string;
  /** The name modules reach the local hub by (in their connection strings and its certificate). */
  gatewayHostName?: string;
  /** The outbox's disk cap in bytes; unset: min(1 GiB, 10% of the free space of the home). */
  outboxCapBytes?: number;
  /** The home's path on the Docker host, when the agent runs in a container (for module binds). */
  hostHome?: string;
  /** The agent's Prometheus `/metrics` port; 0 = none. */
  metricsPort: number;
  /** The `/metrics` listen address (default 127.0.0.1). */
  metricsHost: string;
  logLevel: string;
  /** The agent's own image, for reported `systemModules.edgeAgent.settings.image`. */
  agentImage?: string;
}

const seconds = (value: string): number => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError('expected a number of seconds');
  return n;
};

const tcpPort = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65_535)
    throw new InvalidArgumentError('expected a TCP port from 1 to 65535');
  return n;
};

const portOrOff = (value: string): number => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65_535)
    throw new InvalidArgumentError('expected a TCP port from 1 to 65535, or 0 for none');
  return n;
};

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `1073741824`, `512M`, `512MiB`, `1GB`, `1.5g`: binary units (a disk cap needs no decimal ones). */
export const byteSize = (value: string): number => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([bkmg]?)(?:i?b)?\s*$/i.exec(value);
  const unit = SIZE_UNITS[(match?.[2] ?? '').toLowerCase()];
  const n = match && unit ? Math.floor(Number(match[1]) * unit) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError('expected a size such as 536870912, 512M or 1G');
  return n;
};

const atLeastOne = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number, at least 1');
  return n;
};

interface OptionSpec {
  flags: string;
  key: string;
  env: string;
  description: string;
  parse?: (value: string) => number;
  default?: number | string;
}

/** Every option, its environment variable and default (one table: flags > env > defaults). */
const OPTIONS: readonly OptionSpec[] = [
  {
    flags: '--manifest <file>',
    key: 'manifest',
    env: 'MODELPORT_AGENT_MANIFEST',
    description: 'offline: apply this deployment manifest and watch it',
  },
  {
    flags: '--connection-string <cs>',
    key: 'connectionString',
    env: 'MODELPORT_AGENT_CONNECTION_STRING',
    description: 'the $edgeAgent module connection string',
  },
  {
    flags: '--edgehub-connection-string <cs>',
    key: 'edgehubConnectionString',
    env: 'MODELPORT_AGENT_EDGEHUB_CONNECTION_STRING',
    description:
      'the $edgeHub module connection string: sends the outbox upstream and reports $edgeHub (hub mode: also its routes)',
  },
  {
    flags: '--device-connection-string <cs>',
    key: 'deviceConnectionString',
    env: 'MODELPORT_AGENT_DEVICE_CONNECTION_STRING',
    description:
      'the device connection string: writes the hardware inventory to the device twin (properties.reported.modelport.inventory) so target conditions can select by it',
  },
  {
    flags: '--ca <file>',
    key: 'ca',
    env: 'MODELPORT_AGENT_CA',
    description: "PEM of the CA that signed the hub's certificate",
  },
  {
    flags: '--home <dir>',
    key: 'home',
    env: 'MODELPORT_AGENT_HOME',
    description: 'state folder (default ~/.modelport-agent)',
  },
  {
    flags: '--agent-id <id>',
    key: 'agentId',
    env: 'MODELPORT_AGENT_ID',
    description: "labels this agent's containers (default: the device id, or 'local')",
  },
  {
    flags: '--health-window <seconds>',
    key: 'healthWindow',
    env: 'MODELPORT_AGENT_HEALTH_WINDOW',
    description: 'time a new deployment has to become healthy before it is rolled back',
    parse: seconds,
    default: 60,
  },
  {
    flags: '--health-stable <seconds>',
    key: 'healthStable',
    env: 'MODELPORT_AGENT_HEALTH_STABLE',
    description: 'a module without HEALTHCHECK or probe is healthy after running this long',
    parse: seconds,
    default: 10,
  },
  {
    flags: '--restart-cool-off <seconds>',
    key: 'restartCoolOff',
    env: 'MODELPORT_AGENT_RESTART_COOL_OFF',
    description: 'restart back-off unit: waits min(unit·2^n, 300 s)',
    parse: seconds,
    default: 10,
  },
  {
    flags: '--max-restarts <n>',
    key: 'maxRestarts',
    env: 'MODELPORT_AGENT_MAX_RESTARTS',
    description: 'restarts before a module is left failed',
    parse: atLeastOne,
    default: 20,
  },
  {
    flags: '--interval <seconds>',
    key: 'interval',
    env: 'MODELPORT_AGENT_INTERVAL',
    description: 'pass interval when nothing happens',
    parse: seconds,
    default: 5,
  },
  {
    flags: '--stop-timeout <seconds>',
    key: 'stopTimeout',
    env: 'MODELPORT_AGENT_STOP_TIMEOUT',
    description: 'grace period before a stopping container is killed',
    parse: seconds,
    default: 10,
  },
  {
    flags: '--telemetry-interval <seconds>',
    key: 'telemetryInterval',
    env: 'MODELPORT_AGENT_TELEMETRY_INTERVAL',
    description: 'seconds between telemetry messages (device, modules, outbox); 0 = off',
    parse: seconds,
    default: 60,
  },
  {
    flags: '--hub-port <port>',
    key: 'hubPort',
    env: 'MODELPORT_AGENT_HUB_PORT',
    description:
      "local hub's MQTT-TLS port (default: the last run's port, else 8883, else any free one; a given port must be free)",
    parse: tcpPort,
  },
  {
    flags: '--hub-host <address>',
    key: 'hubHost',
    env: 'MODELPORT_AGENT_HUB_HOST',
    description:
      "local hub's listen address (default 127.0.0.1 and ::1; modules on a bridge network need another)",
  },
  {
    flags: '--gateway-host-name <name>',
    key: 'gatewayHostName',
    env: 'MODELPORT_AGENT_GATEWAY_HOST_NAME',
    description: "the name modules reach the local hub by (default localhost; also in the hub's certificate)",
  },
  {
    flags: '--outbox-cap <size>',
    key: 'outboxCap',
    env: 'MODELPORT_AGENT_OUTBOX_CAP',
    description:
      "store-and-forward disk cap, e.g. 512M or 2G (default min(1G, 10% of the home's free space))",
    parse: byteSize,
  },
  {
    flags: '--host-home <dir>',
    key: 'hostHome',
    env: 'MODELPORT_AGENT_HOST_HOME',
    description:
      'the home folder as the Docker host sees it, when the agent runs in a container (default: found from its own mounts)',
  },
  {
    flags: '--metrics-port <port>',
    key: 'metricsPort',
    env: 'MODELPORT_AGENT_METRICS_PORT',
    description:
      'Prometheus /metrics port (outbox, local hub, modules); 0 = none; a taken port is logged and skipped',
    parse: portOrOff,
    default: 9600,
  },
  {
    flags: '--metrics-host <address>',
    key: 'metricsHost',
    env: 'MODELPORT_AGENT_METRICS_HOST',
    description: '/metrics listen address',
    default: '127.0.0.1',
  },
  {
    flags: '--agent-image <image>',
    key: 'agentImage',
    env: 'MODELPORT_AGENT_IMAGE',
    description: "the agent's own image, as reported for edgeAgent",
  },
  {
    flags: '--log-level <level>',
    key: 'logLevel',
    env: 'MODELPORT_LOG_LEVEL',
    description: 'pino log level',
    default: 'info',
  },
];

/** The commander program: parsing only. */
export function agentProgram(version: string): Command {
  const program = new Command('modelport-agent')
    .description('Runs an IoT Edge deployment on this device: desired state → containers, health, rollback.')
    .version(version, '--version')
    .exitOverride()
    .allowExcessArguments(false);
  for (const o of OPTIONS) {
    const description = `${o.description} [env ${o.env}${o.default === undefined ? '' : `, default ${o.default}`}]`;
    if (o.parse) program.option(o.flags, description, o.parse);
    else program.option(o.flags, description);
  }
  return program;
}

type Raw = Record<string, string | number | undefined>;

function withEnvAndDefaults(cli: Raw, env: NodeJS.ProcessEnv): Raw {
  const out: Raw = {};
  for (const o of OPTIONS) {
    const fromEnv = env[o.env];
    if (cli[o.key] !== undefined) out[o.key] = cli[o.key];
    else if (fromEnv !== undefined && fromEnv !== '') {
      try {
        out[o.key] = o.parse ? o.parse(fromEnv) : fromEnv;
      } catch (e) {
        throw new UsageError('AGENT_ENV_INVALID', `${o.env}=${fromEnv}: ${(e as Error).message}`);
      }
    } else out[o.key] = o.default;
  }
  return out;
}

/** Parses argv (without node and script) with env fallbacks; throws UsageError or a commander error. */
export function resolveConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  version: string,
  output?: { writeOut: (s: string) => void; writeErr: (s: string) => void },
): AgentConfig {
  const program = agentProgram(version);
  if (output) program.configureOutput(output);
  program.parse([...argv], { from: 'user' });
  const o = withEnvAndDefaults(program.opts<Raw>(), env);
  const str = (key: string) => (o[key] === undefined ? undefined : String(o[key]));
  const num = (key: string) => Number(o[key]);
  const manifest = str('manifest');
  const connectionString = str('connectionString');
  if ((manifest === undefined) === (connectionString === undefined)) {
    throw new UsageError(
      'AGENT_MODE',
      'give exactly one of --manifest FILE (offline) or --connection-string CS (IoT Hub)',
      {
        hint: 'modelport-agent --manifest deployment.json, or modelport-agent --connection-string "HostName=…;DeviceId=…;ModuleId=$edgeAgent;SharedAccessKey=…"',
      },
    );
  }
  const hub = connectionString ? parseModuleConnectionString(connectionString, '$edgeAgent') : undefined;
  const edgeHubConnectionString = str('edgehubConnectionString');
  const edgeHubIdentity = edgeHubConnectionString
    ? parseModuleConnectionString(edgeHubConnectionString, '$edgeHub')
    : undefined;
  if (hub && edgeHubIdentity && edgeHubIdentity.deviceId !== hub.deviceId) {
    throw new UsageError(
      'AGENT_DEVICE_MISMATCH',
      `the $edgeHub connection string is for device '${edgeHubIdentity.deviceId}', the $edgeAgent one for '${hub.deviceId}'`,
      { hint: 'give both module connection strings of the same IoT Edge device' },
    );
  }
  const deviceConnectionString = str('deviceConnectionString');
  const deviceIdentity = deviceConnectionString
    ? parseDeviceConnectionString(deviceConnectionString)
    : undefined;
  const otherIdentity = hub ?? edgeHubIdentity;
  if (deviceIdentity && otherIdentity && deviceIdentity.deviceId !== otherIdentity.deviceId) {
    throw new UsageError(
      'AGENT_DEVICE_MISMATCH',
      `the device connection string is for device '${deviceIdentity.deviceId}', the module one(s) for '${otherIdentity.deviceId}'`,
      { hint: 'give connection strings of the same IoT Edge device' },
    );
  }
  // Offline with a $edgeHub identity: the manifest says what runs, that identity carries messages upstream.
  const identity = hub ?? edgeHubIdentity;
  const caFile = str('ca');
  const hubHost = str('hubHost');
  const gatewayHostName = str('gatewayHostName');
  const hostHome = str('hostHome');
  return {
    mode: hub ? 'hub' : 'file',
    ...(manifest !== undefined && { manifest }),
    ...(connectionString !== undefined && { connectionString }),
    ...(edgeHubConnectionString !== undefined && { edgeHubConnectionString }),
    ...(deviceConnectionString !== undefined && { deviceConnectionString }),
    ...(caFile !== undefined && { caFile }),
    home: str('home') ?? join(os.homedir(), '.modelport-agent'),
    agentId: str('agentId') ?? hub?.deviceId ?? 'local',
    ...(identity && { deviceId: identity.deviceId, hostName: identity.hostName }),
    healthWindowMs: num('healthWindow') * 1000,
    healthStableMs: num('healthStable') * 1000,
    restartCoolOffMs: num('restartCoolOff') * 1000,
    maxRestarts: num('maxRestarts'),
    intervalMs: Math.max(100, num('interval') * 1000),
    stopTimeoutSeconds: num('stopTimeout'),
    telemetryIntervalMs: num('telemetryInterval') * 1000,
    ...(o['hubPort'] !== undefined && { hubPort: num('hubPort') }),
    ...(hubHost !== undefined && { hubListenHost: hubHost }),
    ...(gatewayHostName !== undefined && { gatewayHostName }),
    ...(o['outboxCap'] !== undefined && { outboxCapBytes: num('outboxCap') }),
    ...(hostHome !== undefined && { hostHome }),
    metricsPort: num('metricsPort'),
    metricsHost: str('metricsHost') ?? '127.0.0.1',
    logLevel: str('logLevel') ?? 'info',
    ...(str('agentImage') !== undefined && { agentImage: str('agentImage') }),
  };
}
