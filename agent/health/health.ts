/**
 * Is a module healthy? The rule, in order:
 * 1. the image (or createOptions) has a Docker HEALTHCHECK → Docker's verdict (`healthy`);
 * 2. the module declares a probe — createOptions `Labels` `modelport.probe.port` (and optional
 *    `modelport.probe.path`, default `/`) — or has `MODELPORT_PORT` in its env → `GET` that path
 *    answers with any status below 500 (the server is up and serving);
 * 3. otherwise, running without a restart for `stableMs`.
 * A module with restartPolicy `never` that exited with code 0 has completed, which counts as healthy.
 * Pure: probe results and `now` come in as arguments.
 */

import { runtimeStatusOf } from '../reconcile/restart.js';
import type { CurrentContainer, DesiredModule } from '../reconcile/types.js';
import type { Address } from './probe.js';

export const PROBE_PORT_LABEL = 'modelport.probe.port';
export const PROBE_PATH_LABEL = 'modelport.probe.path';

export type HealthRule = 'docker-healthcheck' | 'http-probe' | 'running-for' | 'completed' | 'stopped';

export interface ModuleHealth {
  module: string;
  healthy: boolean;
  rule: HealthRule;
  detail: string;
}

export interface ProbeSpec {
  port: number;
  path: string;
}

/** The HTTP probe a module declares (rule 2), if any. */
export function probeSpec(m: DesiredModule): ProbeSpec | undefined {
  const labels = (m.createOptions['Labels'] ?? {}) as Record<string, unknown>;
  const declared = Number(labels[PROBE_PORT_LABEL]);
  const port = Number.isInteger(declared) && declared > 0 ? declared : Number(m.env['MODELPORT_PORT']);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  const path = typeof labels[PROBE_PATH_LABEL] === 'string' ? (labels[PROBE_PATH_LABEL] as string) : '/';
  return { port, path: path.startsWith('/') ? path : `/${path}` };
}

/** The result of one probe: the HTTP status, or why there was none. */
export type ProbeResult = { status: number } | { error: string };

export interface HealthInput {
  module: DesiredModule;
  container: CurrentContainer | undefined;
  probe: ProbeResult | undefined;
  now: number;
  stableMs: number;
}

export function moduleHealth({ module: m, container: c, probe, now, stableMs }: HealthInput): ModuleHealth {
  const verdict = (healthy: boolean, rule: HealthRule, detail: string): ModuleHealth => ({
    module: m.name,
    healthy,
    rule,
    detail,
  });
  if (m.status === 'stopped') return verdict(true, 'stopped', 'desired status is stopped');
  if (!c) return verdict(false, 'running-for', 'no container yet');
  if (c.state !== 'running') {
    if (m.restartPolicy === 'never' && c.state === 'exited' && c.exitCode === 0) {
      return verdict(true, 'completed', 'exited with code 0 (restartPolicy never)');
    }
    return verdict(false, 'running-for', c.failureDetail ?? `${runtimeStatusOf(c)} (${c.state})`);
  }
  if (c.health !== 'none') {
    return verdict(c.health === 'healthy', 'docker-healthcheck', `Docker health: ${c.health}`);
  }
  const spec = probeSpec(m);
  if (spec) {
    if (!probe) return verdict(false, 'http-probe', `GET ${spec.path} on port ${spec.port}: not probed yet`);
    if ('error' in probe)
      return verdict(false, 'http-probe', `GET ${spec.path} on port ${spec.port}: ${probe.error}`);
    return verdict(
      probe.status < 500,
      'http-probe',
      `GET ${spec.path} on port ${spec.port}: HTTP ${probe.status}`,
    );
  }
  const runningFor = c.startedAt === undefined ? 0 : now - c.startedAt;
  return verdict(
    runningFor >= stableMs,
    'running-for',
    `running for ${Math.floor(runningFor / 1000)} s of ${Math.round(stableMs / 1000)} s`,
  );
}

/** Where to reach a container's port from the agent: host network → loopback, else its IP. */
export function probeAddress(
  inspect: {
    HostConfig?: { NetworkMode?: string; PortBindings?: unknown };
    NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }>; IPAddress?: string };
  },
  spec: ProbeSpec,
): Address | undefined {
  if (inspect.HostConfig?.NetworkMode === 'host') return { host: '127.0.0.1', port: spec.port };
  const ip =
    Object.values(inspect.NetworkSettings?.Networks ?? {}).find((n) => n.IPAddress)?.IPAddress ||
    inspect.NetworkSettings?.IPAddress;
  if (ip) return { host: ip, port: spec.port };
  const bindings = (inspect.HostConfig?.PortBindings ?? {}) as Record<string, { HostPort?: string }[] | null>;
  const hostPort = Number(bindings[`${spec.port}/tcp`]?.[0]?.HostPort);
  return Number.isInteger(hostPort) && hostPort > 0 ? { host: '127.0.0.1', port: hostPort } : undefined;
}
