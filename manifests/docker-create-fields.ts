/**
 * Allow-lists of Docker Engine API `POST /containers/create` body fields (moby api/swagger.yaml:
 * ContainerConfig, HostConfig with its inline Resources, NetworkingConfig), for checking createOptions.
 *
 * Docker's Go JSON decoder matches field names case-insensitively, so `hostconfig` would "work" on the
 * engine; we still reject wrong case because the device agent merges its own `Env`, `Labels` and
 * `HostConfig` into createOptions by exact key, and a case variant would sit beside ours with an
 * undefined winner. Unknown names are almost always typos that Docker silently ignores.
 */
import type { IssueList, PathSegment } from './errors.js';

export const CONTAINER_CREATE_FIELDS: readonly string[] = [
  'Hostname',
  'Domainname',
  'User',
  'AttachStdin',
  'AttachStdout',
  'AttachStderr',
  'ExposedPorts',
  'Tty',
  'OpenStdin',
  'StdinOnce',
  'Env',
  'Cmd',
  'Healthcheck',
  'ArgsEscaped',
  'Image',
  'Volumes',
  'WorkingDir',
  'Entrypoint',
  'NetworkDisabled',
  'MacAddress',
  'OnBuild',
  'Labels',
  'StopSignal',
  'StopTimeout',
  'Shell',
  'HostConfig',
  'NetworkingConfig',
];

export const HOST_CONFIG_FIELDS: readonly string[] = [
  // Resources (inlined into HostConfig)
  'CpuShares',
  'Memory',
  'CgroupParent',
  'BlkioWeight',
  'BlkioWeightDevice',
  'BlkioDeviceReadBps',
  'BlkioDeviceWriteBps',
  'BlkioDeviceReadIOps',
  'BlkioDeviceWriteIOps',
  'CpuPeriod',
  'CpuQuota',
  'CpuRealtimePeriod',
  'CpuRealtimeRuntime',
  'CpusetCpus',
  'CpusetMems',
  'Devices',
  'DeviceCgroupRules',
  'DeviceRequests',
  'KernelMemory', // accepted by older API versions
  'KernelMemoryTCP',
  'MemoryReservation',
  'MemorySwap',
  'MemorySwappiness',
  'NanoCpus',
  'OomKillDisable',
  'Init',
  'PidsLimit',
  'Ulimits',
  'CpuCount',
  'CpuPercent',
  'IOMaximumIOps',
  'IOMaximumBandwidth',
  // HostConfig proper
  'Binds',
  'ContainerIDFile',
  'LogConfig',
  'NetworkMode',
  'PortBindings',
  'RestartPolicy',
  'AutoRemove',
  'VolumeDriver',
  'VolumesFrom',
  'Mounts',
  'ConsoleSize',
  'Annotations',
  'CapAdd',
  'CapDrop',
  'CgroupnsMode',
  'Dns',
  'DnsOptions',
  'DnsSearch',
  'ExtraHosts',
  'GroupAdd',
  'IpcMode',
  'Cgroup',
  'Links',
  'OomScoreAdj',
  'PidMode',
  'Privileged',
  'PublishAllPorts',
  'ReadonlyRootfs',
  'SecurityOpt',
  'StorageOpt',
  'Tmpfs',
  'UTSMode',
  'UsernsMode',
  'ShmSize',
  'Sysctls',
  'Runtime',
  'Isolation',
  'MaskedPaths',
  'ReadonlyPaths',
];

export const NETWORKING_CONFIG_FIELDS: readonly string[] = ['EndpointsConfig'];

function checkFields(
  value: Record<string, unknown>,
  allowed: readonly string[],
  what: string,
  path: readonly PathSegment[],
  issues: IssueList,
): void {
  const exact = new Set(allowed);
  const byLower = new Map(allowed.map((f) => [f.toLowerCase(), f]));
  for (const key of Object.keys(value)) {
    if (exact.has(key)) continue;
    const near = byLower.get(key.toLowerCase());
    const message = near
      ? `'${key}' is not a Docker Engine ${what} field; field names are case-sensitive here: use '${near}'`
      : `'${key}' is not a Docker Engine ${what} field`;
    issues.add([...path, key], 'create-options-field', message);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks the top-level, HostConfig and NetworkingConfig field names of joined createOptions.
 * `path` points at the createOptions object (e.g. `…settings.createOptions`).
 */
export function checkCreateOptionsFields(
  options: Record<string, unknown>,
  path: readonly PathSegment[],
  issues: IssueList,
): void {
  checkFields(options, CONTAINER_CREATE_FIELDS, 'container-create', path, issues);
  const host = options['HostConfig'];
  if (host !== undefined) {
    if (isPlainObject(host))
      checkFields(host, HOST_CONFIG_FIELDS, 'HostConfig', [...path, 'HostConfig'], issues);
    else issues.add([...path, 'HostConfig'], 'type', 'HostConfig must be an object');
  }
  const net = options['NetworkingConfig'];
  if (net !== undefined) {
    if (isPlainObject(net)) {
      checkFields(net, NETWORKING_CONFIG_FIELDS, 'NetworkingConfig', [...path, 'NetworkingConfig'], issues);
    } else issues.add([...path, 'NetworkingConfig'], 'type', 'NetworkingConfig must be an object');
  }
}
