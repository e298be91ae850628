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
