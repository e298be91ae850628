/**
 * Where a start-first container listens (its internal-port label, reached over loopback on the host
 * network or at its IP otherwise) and the bounded wait until it answers its ready path with 2xx.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { ModelportError } from '../../common/errors.js';
import { type ProbeResult, probeAddress } from '../health/health.js';
import type { Address } from '../health/probe.js';
import type { DockerAdapter } from './docker-adapter.js';
import { describeExit } from './failure-detail.js';
import { LABEL } from './labels.js';

export type ReadyProber = (address: Address, path: string) => Promise<ProbeResult>;

/** The address behind the proxy of a start-first container, from its inspect data. */
export function upstreamAddress(info: Docker.ContainerInspectInfo): Address {
  const name = info.Name.replace(/^\//, '');
  const port = Number(info.Config?.Labels?.[LABEL.internalPort]);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new ModelportError(
      'CONTAINER_NOT_BEHIND_PROXY',
      `container ${name} has no ${LABEL.internalPort} label, so the proxy cannot reach it`,
      { hint: 'it was not created by a start-first update; the agent replaces it on its next pass' },
    );
  }
  const address = probeAddress(info, { port, path: '/' });
  if (!address) {
    throw new ModelportError(
      'CONTAINER_UNREACHABLE',
      `container ${name} has no IP address to reach port ${port} on`,
      {
        hint: 'run start-first modules on the host network (HostConfig.NetworkMode host) or on a bridge network',
      },
    );
  }
  return address;
}

export interface ReadyWait {
  /** Container id or name. */
  container: string;
  path: string;
  timeoutMs: number;
  intervalMs?: number;
  signal?: AbortSignal;
}

/** Resolves once the container answers `GET path` with 2xx; throws when it exits, vanishes or times out. */
export async function waitUntilReady(
  docker: DockerAdapter,
  probe: ReadyProber,
  wait: ReadyWait,
): Promise<void> {
  const deadline = Date.now() + wait.timeoutMs;
  let last = 'not probed yet';
  for (;;) {
    const info = await docker.inspect(wait.container);
    if (!info) {
      throw new ModelportError('CONTAINER_GONE', `container ${wait.container} was removed while starting`);
    }
    const state = info.State;
    if (state && !state.Running && state.Status !== 'created' && state.Status !== 'restarting') {
      const lines = await docker.logs(info.Id, { tail: 20 }, info.Config?.Tty ?? false).catch(() => []);
      throw new ModelportError(
        'MODULE_NOT_READY',
        `new container ${wait.container} stopped before it was ready: ${describeExit(state.ExitCode ?? 0, lines)}`,
        { hint: 'the old container keeps serving; see the module logs' },
      );
    }
    if (state?.Running) {
      const result = await probe(upstreamAddress(info), wait.path);
      if ('status' in result && result.status >= 200 && result.status < 300) return;
      last = 'status' in result ? `HTTP ${result.status}` : result.error;
    }
    if (Date.now() >= deadline) {
      throw new ModelportError(
        'MODULE_NOT_READY',
        `new container ${wait.container} did not answer GET ${wait.path} with 2xx within ${Math.round(wait.timeoutMs / 1000)} s (last: ${last})`,
        {
          hint: 'the old container keeps serving; check that the module serves its ready path (label modelport.update.ready-path)',
        },
      );
    }
    await sleep(wait.intervalMs ?? 250, undefined, wait.signal ? { signal: wait.signal } : {});
  }
}
