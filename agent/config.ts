/**
 * The agent's configuration, resolved once at start: command-line flags, then environment variables,
 * then defaults. Pure (argv and env come in); `--help` / `--version` and bad flags surface as
 * commander errors that the process edge maps to exit codes.
 */
import os from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { UsageError } from '../common/errors.js';
import { parseModuleConnectionString } from './twin/connection-string.js';

export interface AgentConfig {
  mode: 'file' | 'hub';
  /** Offline mode: the manifest file to apply and watch. */
  manifest?: string;
  /** Hub mode: the `$edgeAgent` module connection string. */
  connectionString?: string;
  /** Hub mode: the `$edgeHub` module connection string (its twin holds the routes). */
  edgeHubConnectionString?: string;
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
  /** For the local hub (issue 9): how often telemetry is flushed upstream. */
  telemetryIntervalMs: number;
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
    description: 'the $edgeHub module connection string (routes)',
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
    description: 'local hub: upstream flush interval',
    parse: seconds,
    default: 10,
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
  if (edgeHubConnectionString) parseModuleConnectionString(edgeHubConnectionString, '$edgeHub');
  const caFile = str('ca');
  return {
    mode: hub ? 'hub' : 'file',
    ...(manifest !== undefined && { manifest }),
    ...(connectionString !== undefined && { connectionString }),
    ...(edgeHubConnectionString !== undefined && { edgeHubConnectionString }),
    ...(caFile !== undefined && { caFile }),
    home: str('home') ?? join(os.homedir(), '.modelport-agent'),
    agentId: str('agentId') ?? hub?.deviceId ?? 'local',
    ...(hub && { deviceId: hub.deviceId, hostName: hub.hostName }),
    healthWindowMs: num('healthWindow') * 1000,
    healthStableMs: num('healthStable') * 1000,
    restartCoolOffMs: num('restartCoolOff') * 1000,
    maxRestarts: num('maxRestarts'),
    intervalMs: Math.max(100, num('interval') * 1000),
    stopTimeoutSeconds: num('stopTimeout'),
    telemetryIntervalMs: num('telemetryInterval') * 1000,
    logLevel: str('logLevel') ?? 'info',
    ...(str('agentImage') !== undefined && { agentImage: str('agentImage') }),
  };
}
