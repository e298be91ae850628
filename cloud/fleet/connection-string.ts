/** IoT Hub service connection strings (`HostName=…;SharedAccessKeyName=…;SharedAccessKey=…`). */
import { UsageError } from '../../common/errors.js';

/** How long one hub request may take by default. */
export const DEFAULT_HUB_TIMEOUT_MS = 30_000;

export interface HubConnection {
  /** As written, maybe with a port: `myhub.azure-devices.net`, `localhost:8443`. */
  hostName: string;
  /** The host without the port. */
  host: string;
  /** Set when HostName names a port (a gateway or proxy in front of the hub); otherwise HTTPS's 443. */
  port?: number;
  policyName: string;
}

/** Splits on the first '=' of each part, since base64 keys end in '='. */
function parts(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

/**
 * Reads a service connection string; `source` names where it came from (`--hub-connection-string`,
 * `MODELPORT_HUB_CONNECTION_STRING`) for messages, which never repeat the key.
 */
export function parseHubConnectionString(text: string, source: string): HubConnection {
  const p = parts(text);
  const hint =
    'use a shared access policy connection string, e.g. `az iot hub connection-string show --policy-name registryReadWrite`';
  if (p.has('DeviceId')) {
    throw new UsageError(
      'HUB_CONNECTION_STRING_INVALID',
      `${source} is a device connection string (it names DeviceId); deployments need a hub policy with registry write rights`,
      { hint },
    );
  }
  const missing = ['HostName', 'SharedAccessKeyName', 'SharedAccessKey'].filter((k) => !p.get(k));
  if (missing.length > 0) {
    throw new UsageError(
      'HUB_CONNECTION_STRING_INVALID',
      `${source} is not an IoT Hub connection string: ${missing.join(', ')} missing (expected HostName=…;SharedAccessKeyName=…;SharedAccessKey=…)`,
      { hint },
    );
  }
  const hostName = p.get('HostName') as string;
  const match = /^([^:/\s]+)(?::([0-9]{1,5}))?$/.exec(hostName);
  if (!match) {
    throw new UsageError(
      'HUB_CONNECTION_STRING_INVALID',
      `${source}: HostName '${hostName}' is not a host name`,
      { hint },
    );
  }
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && (port < 1 || port > 65535)) {
    throw new UsageError(
      'HUB_CONNECTION_STRING_INVALID',
      `${source}: HostName '${hostName}' names port ${port}`,
      { hint },
    );
  }
  return {
    hostName,
    host: match[1] as string,
    ...(port !== undefined && { port }),
    policyName: p.get('SharedAccessKeyName') as string,
  };
}
