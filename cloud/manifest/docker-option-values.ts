/**
 * Value checks for Docker create options (manifests/docker-create-fields.ts checks the field names).
 * Docker decodes createOptions with Go's JSON decoder into typed structs (moby api/types/container),
 * so a wrong type fails on the device at container-create time ("json: cannot unmarshal number into Go
 * struct field … of type string"); these checks move that failure to the laptop. Covered: the scalar
 * and list fields of ContainerConfig and HostConfig, PortBindings / ExposedPorts, LogConfig,
 * RestartPolicy, Mounts, Devices, Ulimits, Healthcheck, and the combinations the engine refuses
 * (NanoCpus with CpuPeriod/CpuQuota, MemorySwap below Memory, Memory under the 6 MiB minimum).
 */
import type { IssueList, PathSegment } from '../../manifests/errors.js';

type Kind = 'string' | 'boolean' | 'integer' | 'strings' | 'stringOrStrings' | 'stringMap' | 'emptyObjectMap';

const CONTAINER_KINDS: Record<string, Kind> = {
  Hostname: 'string',
  Domainname: 'string',
  User: 'string',
  WorkingDir: 'string',
  MacAddress: 'string',
  StopSignal: 'string',
  Image: 'string',
  AttachStdin: 'boolean',
  AttachStdout: 'boolean',
  AttachStderr: 'boolean',
  Tty: 'boolean',
  OpenStdin: 'boolean',
  StdinOnce: 'boolean',
  NetworkDisabled: 'boolean',
  ArgsEscaped: 'boolean',
  StopTimeout: 'integer',
  Env: 'strings',
  OnBuild: 'strings',
  Shell: 'strings',
  Cmd: 'stringOrStrings',
  Entrypoint: 'stringOrStrings',
  Labels: 'stringMap',
  Volumes: 'emptyObjectMap',
};

const HOST_KINDS: Record<string, Kind> = {
  CpuShares: 'integer',
  Memory: 'integer',
  MemoryReservation: 'integer',
  MemorySwap: 'integer',
  MemorySwappiness: 'integer',
  NanoCpus: 'integer',
  CpuPeriod: 'integer',
  CpuQuota: 'integer',
  CpuRealtimePeriod: 'integer',
  CpuRealtimeRuntime: 'integer',
  CpuCount: 'integer',
  CpuPercent: 'integer',
  BlkioWeight: 'integer',
  KernelMemory: 'integer',
  KernelMemoryTCP: 'integer',
  PidsLimit: 'integer',
  ShmSize: 'integer',
  IOMaximumIOps: 'integer',
  IOMaximumBandwidth: 'integer',
  OomScoreAdj: 'integer',
  OomKillDisable: 'boolean',
  Init: 'boolean',
  AutoRemove: 'boolean',
  Privileged: 'boolean',
  PublishAllPorts: 'boolean',
  ReadonlyRootfs: 'boolean',
  CgroupParent: 'string',
  CpusetCpus: 'string',
  CpusetMems: 'string',
  ContainerIDFile: 'string',
  NetworkMode: 'string',
  VolumeDriver: 'string',
  CgroupnsMode: 'string',
  IpcMode: 'string',
  Cgroup: 'string',
  PidMode: 'string',
  UTSMode: 'string',
  UsernsMode: 'string',
  Runtime: 'string',
  Isolation: 'string',
  Binds: 'strings',
  VolumesFrom: 'strings',
  CapAdd: 'strings',
  CapDrop: 'strings',
  Dns: 'strings',
  DnsOptions: 'strings',
  DnsSearch: 'strings',
  ExtraHosts: 'strings',
  GroupAdd: 'strings',
  Links: 'strings',
  SecurityOpt: 'strings',
  DeviceCgroupRules: 'strings',
  MaskedPaths: 'strings',
  ReadonlyPaths: 'strings',
  Sysctls: 'stringMap',
  StorageOpt: 'stringMap',
  Tmpfs: 'stringMap',
};

/** Docker refuses a memory limit under 6 MiB ("Minimum memory limit allowed is 6MB"). */
export const DOCKER_MIN_MEMORY_BYTES = 6 * 1024 * 1024;

const PORT_KEY = /^[0-9]{1,5}(-[0-9]{1,5})?(\/(tcp|udp|sctp))?$/;
const RESTART_NAMES = ['', 'no', 'always', 'unless-stopped', 'on-failure'];
const MOUNT_TYPES = ['bind', 'volume', 'tmpfs', 'npipe', 'cluster', 'image'];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  const shown = JSON.stringify(v);
  return `${typeof v} ${shown && shown.length > 40 ? `${shown.slice(0, 40)}…` : shown}`;
}

class ValueChecker {
  constructor(private readonly issues: IssueList) {}

  bad(path: readonly PathSegment[], message: string): void {
    this.issues.add(path, 'create-options-value', message);
  }

  kind(value: unknown, kind: Kind, path: readonly PathSegment[]): void {
    const ok = (() => {
      switch (kind) {
        case 'string':
          return typeof value === 'string';
        case 'boolean':
          return typeof value === 'boolean';
        case 'integer':
          return typeof value === 'number' && Number.isSafeInteger(value);
        case 'strings':
          return value === null || (Array.isArray(value) && value.every((v) => typeof v === 'string'));
        case 'stringOrStrings':
          return (
            typeof value === 'string' ||
            value === null ||
            (Array.isArray(value) && value.every((v) => typeof v === 'string'))
          );
        case 'stringMap':
          return (
            value === null || (isObject(value) && Object.values(value).every((v) => typeof v === 'string'))
          );
        case 'emptyObjectMap':
          return value === null || (isObject(value) && Object.values(value).every((v) => isObject(v)));
      }
    })();
    if (ok) return;
    const expected: Record<Kind, string> = {
      string: 'a string',
      boolean: 'true or false',
      integer: 'an integer',
      strings: 'an array of strings',
      stringOrStrings: 'a string or an array of strings',
      stringMap: 'an object whose values are strings',
      emptyObjectMap: 'an object of {} values',
    };
    this.bad(path, `Docker expects ${expected[kind]} here, not ${describe(value)}`);
  }

  ports(value: unknown, path: readonly PathSegment[], withBindings: boolean): void {
    if (!isObject(value)) {
      this.bad(path, `Docker expects an object keyed by "PORT/PROTOCOL" here, not ${describe(value)}`);
      return;
    }
    for (const [key, entry] of Object.entries(value)) {
      const here = [...path, key];
      if (!PORT_KEY.test(key)) this.bad(here, `'${key}' is not a port key of the form PORT[/tcp|udp|sctp]`);
      if (!withBindings) {
        if (!isObject(entry)) this.bad(here, `exposed ports map to {}, not ${describe(entry)}`);
        continue;
      }
      if (entry === null) continue;
      if (!Array.isArray(entry)) {
        this.bad(here, `port bindings are an array of {"HostIp", "HostPort"}, not ${describe(entry)}`);
        continue;
      }
      entry.forEach((binding, i) => {
        if (!isObject(binding)) {
          this.bad([...here, i], `a port binding is {"HostIp", "HostPort"}, not ${describe(binding)}`);
          return;
        }
        for (const field of ['HostIp', 'HostPort']) {
          const v = binding[field];
          if (v !== undefined && typeof v !== 'string') {
            this.bad(
              [...here, i, field],
              `${field} must be a string (e.g. "${field === 'HostPort' ? '5001' : '0.0.0.0'}"), not ${describe(v)}`,
            );
          }
        }
      });
    }
  }

  objectList(
    value: unknown,
    path: readonly PathSegment[],
    what: string,
    fields: Record<string, Kind>,
    required: readonly string[] = [],
  ): void {
    if (value === null || value === undefined) return;
    if (!Array.isArray(value)) {
      this.bad(path, `${what} must be an array of objects, not ${describe(value)}`);
      return;
    }
    value.forEach((item, i) => {
      if (!isObject(item)) {
        this.bad([...path, i], `each entry of ${what} must be an object, not ${describe(item)}`);
        return;
      }
      for (const name of required) {
        if (item[name] === undefined) this.bad([...path, i, name], `${what} entries need ${name}`);
      }
      for (const [name, kind] of Object.entries(fields)) {
        if (item[name] !== undefined) this.kind(item[name], kind, [...path, i, name]);
      }
    });
  }
}

/**
 * Records every value in joined createOptions that Docker would refuse. `path` points at the
 * createOptions object. Unknown field names are manifests/checkCreateOptionsFields' job and skipped here.
 */
export function checkDockerOptionValues(
  options: Record<string, unknown>,
  path: readonly PathSegment[],
  issues: IssueList,
): void {
  const c = new ValueChecker(issues);
  for (const [key, kind] of Object.entries(CONTAINER_KINDS)) {
    if (options[key] !== undefined) c.kind(options[key], kind, [...path, key]);
  }
  if (options['ExposedPorts'] !== undefined)
    c.ports(options['ExposedPorts'], [...path, 'ExposedPorts'], false);
  const health = options['Healthcheck'];
  if (health !== undefined) {
    const here = [...path, 'Healthcheck'];
    if (!isObject(health)) c.bad(here, `Healthcheck must be an object, not ${describe(health)}`);
    else {
      if (health['Test'] !== undefined) c.kind(health['Test'], 'strings', [...here, 'Test']);
      for (const f of ['Interval', 'Timeout', 'Retries', 'StartPeriod', 'StartInterval']) {
        if (health[f] !== undefined) c.kind(health[f], 'integer', [...here, f]);
      }
    }
  }
  const host = options['HostConfig'];
  if (isObject(host)) checkHostConfig(host, [...path, 'HostConfig'], c);
}

function checkHostConfig(host: Record<string, unknown>, path: readonly PathSegment[], c: ValueChecker): void {
  for (const [key, kind] of Object.entries(HOST_KINDS)) {
    if (host[key] !== undefined) c.kind(host[key], kind, [...path, key]);
  }
  if (host['PortBindings'] !== undefined) c.ports(host['PortBindings'], [...path, 'PortBindings'], true);

  const int = (key: string): number | undefined => {
    const v = host[key];
    return typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined;
  };
  const memory = int('Memory');
  if (memory !== undefined && memory !== 0 && memory < DOCKER_MIN_MEMORY_BYTES) {
    c.bad(
      [...path, 'Memory'],
      `Docker's minimum memory limit is ${DOCKER_MIN_MEMORY_BYTES} bytes (6 MiB); got ${memory}`,
    );
  }
  const swap = int('MemorySwap');
  if (memory !== undefined && memory > 0 && swap !== undefined && swap > 0 && swap < memory) {
    c.bad(
      [...path, 'MemorySwap'],
      `MemorySwap (${swap}) must be at least Memory (${memory}), or -1 for unlimited swap`,
    );
  }
  const reservation = int('MemoryReservation');
  if (memory !== undefined && memory > 0 && reservation !== undefined && reservation > memory) {
    c.bad(
      [...path, 'MemoryReservation'],
      `MemoryReservation (${reservation}) must not exceed Memory (${memory})`,
    );
  }
  const nano = int('NanoCpus');
  if (nano !== undefined && nano < 0) c.bad([...path, 'NanoCpus'], 'NanoCpus must not be negative');
  if (nano !== undefined && nano > 0 && (host['CpuPeriod'] !== undefined || host['CpuQuota'] !== undefined)) {
    c.bad(
      [...path, 'NanoCpus'],
      'Docker refuses NanoCpus together with CpuPeriod/CpuQuota ("Conflicting options: Nano CPUs and CPU Period cannot both be set"); use one of them',
    );
  }
  const swappiness = int('MemorySwappiness');
  if (swappiness !== undefined && (swappiness < -1 || swappiness > 100)) {
    c.bad([...path, 'MemorySwappiness'], 'MemorySwappiness must be between 0 and 100 (or -1)');
  }
  const oom = int('OomScoreAdj');
  if (oom !== undefined && (oom < -1000 || oom > 1000)) {
    c.bad([...path, 'OomScoreAdj'], 'OomScoreAdj must be between -1000 and 1000');
  }

  const restart = host['RestartPolicy'];
  if (restart !== undefined) {
    const here = [...path, 'RestartPolicy'];
    if (!isObject(restart))
      c.bad(here, `RestartPolicy must be an object {"Name", "MaximumRetryCount"}, not ${describe(restart)}`);
    else {
      const name = restart['Name'];
      if (name !== undefined && (typeof name !== 'string' || !RESTART_NAMES.includes(name))) {
        c.bad(
          [...here, 'Name'],
          `RestartPolicy.Name must be one of no, always, unless-stopped, on-failure; got ${describe(name)}`,
        );
      }
      if (restart['MaximumRetryCount'] !== undefined)
        c.kind(restart['MaximumRetryCount'], 'integer', [...here, 'MaximumRetryCount']);
    }
  }
  const log = host['LogConfig'];
  if (log !== undefined) {
    const here = [...path, 'LogConfig'];
    if (!isObject(log)) c.bad(here, `LogConfig must be an object {"Type", "Config"}, not ${describe(log)}`);
    else {
      if (log['Type'] !== undefined) c.kind(log['Type'], 'string', [...here, 'Type']);
      const config = log['Config'];
      if (config !== undefined && config !== null) {
        if (!isObject(config))
          c.bad(
            [...here, 'Config'],
            `LogConfig.Config must be an object of strings, not ${describe(config)}`,
          );
        else {
          for (const [k, v] of Object.entries(config)) {
            if (typeof v !== 'string') {
              c.bad(
                [...here, 'Config', k],
                `log options are strings (write "${String(v)}"), not ${describe(v)}`,
              );
            }
          }
        }
      }
    }
  }
  const mounts = host['Mounts'];
  c.objectList(
    mounts,
    [...path, 'Mounts'],
    'Mounts',
    { Target: 'string', Source: 'string', Type: 'string', ReadOnly: 'boolean', Consistency: 'string' },
    ['Target'],
  );
  if (Array.isArray(mounts)) {
    mounts.forEach((m, i) => {
      if (isObject(m) && typeof m['Type'] === 'string' && !MOUNT_TYPES.includes(m['Type'])) {
        c.bad(
          [...path, 'Mounts', i, 'Type'],
          `mount Type must be one of ${MOUNT_TYPES.join(', ')}; got '${m['Type']}'`,
        );
      }
    });
  }
  c.objectList(host['Devices'], [...path, 'Devices'], 'Devices', {
    PathOnHost: 'string',
    PathInContainer: 'string',
    CgroupPermissions: 'string',
  });
  c.objectList(
    host['Ulimits'],
    [...path, 'Ulimits'],
    'Ulimits',
    { Name: 'string', Soft: 'integer', Hard: 'integer' },
    ['Name'],
  );
  c.objectList(host['DeviceRequests'], [...path, 'DeviceRequests'], 'DeviceRequests', {
    Driver: 'string',
    Count: 'integer',
    DeviceIDs: 'strings',
    Options: 'stringMap',
  });
}
