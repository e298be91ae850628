/** IoT Hub connection strings (`Key=Value;Key=Value`), built and read the way the Azure SDKs do. */

export function deviceConnectionString(hostName: string, deviceId: string, key: string): string {
  return `HostName=${hostName};DeviceId=${deviceId};SharedAccessKey=${key}`;
}

export function moduleConnectionString(
  hostName: string,
  deviceId: string,
  moduleId: string,
  key: string,
): string {
  return `HostName=${hostName};DeviceId=${deviceId};ModuleId=${moduleId};SharedAccessKey=${key}`;
}

export function serviceConnectionString(hostName: string, policyName: string, key: string): string {
  return `HostName=${hostName};SharedAccessKeyName=${policyName};SharedAccessKey=${key}`;
}

/** Splits on the first '=' of each part, since base64 keys end in '='. */
export function parseConnectionString(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value.split(';')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}
