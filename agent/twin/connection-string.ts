import { UsageError } from '../../common/errors.js';

export interface ModuleConnectionInfo {
  hostName: string;
  deviceId: string;
  moduleId: string;
}

/**
 * Reads `HostName=…;DeviceId=…;ModuleId=…;SharedAccessKey=…` (IoT Hub's module connection string);
 * throws a UsageError naming what is missing. The key itself is left to the SDK.
 */
export function parseModuleConnectionString(text: string, expectedModule?: string): ModuleConnectionInfo {
  const fields = new Map<string, string>();
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const missing = ['HostName', 'DeviceId', 'ModuleId', 'SharedAccessKey'].filter((k) => !fields.get(k));
  if (missing.length > 0) {
    throw new UsageError('CONNECTION_STRING_INVALID', `the connection string lacks ${missing.join(', ')}`, {
      hint: 'use the $edgeAgent module connection string: HostName=…;DeviceId=…;ModuleId=$edgeAgent;SharedAccessKey=…',
    });
  }
  const info = {
    hostName: fields.get('HostName') as string,
    deviceId: fields.get('DeviceId') as string,
    moduleId: fields.get('ModuleId') as string,
  };
  if (expectedModule && info.moduleId !== expectedModule) {
    throw new UsageError(
      'CONNECTION_STRING_WRONG_MODULE',
      `the connection string is for module '${info.moduleId}', not '${expectedModule}'`,
    );
  }
  return info;
}

/**
 * Reads a device connection string (`HostName=…;DeviceId=…;SharedAccessKey=…`, no ModuleId); throws a
 * UsageError naming what is missing or wrong.
 */
export function parseDeviceConnectionString(text: string): { hostName: string; deviceId: string } {
  const fields = new Map<string, string>();
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const hint = 'use the device connection string: HostName=…;DeviceId=…;SharedAccessKey=…';
  const missing = ['HostName', 'DeviceId', 'SharedAccessKey'].filter((k) => !fields.get(k));
  if (missing.length > 0) {
    throw new UsageError(
      'CONNECTION_STRING_INVALID',
      `the device connection string lacks ${missing.join(', ')}`,
      {
        hint,
      },
    );
  }
  if (fields.get('ModuleId')) {
    throw new UsageError(
      'CONNECTION_STRING_WRONG_MODULE',
      `--device-connection-string names module '${fields.get('ModuleId')}'; it takes the device's own identity`,
      { hint },
    );
  }
  return { hostName: fields.get('HostName') as string, deviceId: fields.get('DeviceId') as string };
}
