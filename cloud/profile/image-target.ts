import { createServer } from 'node:net';
import type Docker from 'dockerode';
import { ModelportError, messageOf, NotFoundError } from '../../common/errors.js';
import { dockerEngineFromEnv, requireEngine } from '../package/docker-engine.js';
import type { ProfileTarget, StepUsage, TargetLimits } from './target.js';

const READY_TIMEOUT_MS = 120_000;
const MEMORY_POLL_MS = 250;
export const PROFILE_LABEL = 'modelport.profile';

/** Docker's container stats, the fields used here (cgroup v1 and v2). */
interface ContainerStats {
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: { usage?: number; stats?: Record<string, number> };
}

/**
 * Memory the container's processes hold: the cgroup's usage without reclaimable file cache, as
 * `docker stats` shows it (inactive_file on cgroup v2, total_inactive_file/cache on v1).
 */
export function containerMemoryBytes(stats: ContainerStats): number {
  const usage = stats.memory_stats?.usage ?? 0;
  const s = stats.memory_stats?.stats ?? {};
  const cache = s.inactive_file ?? s.total_inactive_file ?? s.cache ?? 0;
  return Math.max(0, usage - cache);
}

/**
 * Runs the packaged image on the engine at DOCKER_HOST with Docker's own limits (`NanoCpus` for
 * `--cpus`, a hard quota that may be fractional; `Memory` for `--memory`) on the host network, the
 * server on a free loopback port (MODELPORT_PORT), and waits until it is ready.
 */
export async function startImageTarget(
  image: string,
  limits: TargetLimits,
  env: NodeJS.ProcessEnv,
): Promise<{ target: ProfileTarget; warnings: string[] }> {
  const engine = dockerEngineFromEnv(env);
  await requireEngine(engine);
  const docker = engine.docker;
  await ensureImage(docker, image);
  const port = await freePort();
  const container = await docker.createContainer({
    Image: image,
    Env: [`MODELPORT_PORT=${port}`],
    Labels: { [PROFILE_LABEL]: 'true' },
    HostConfig: {
      NetworkMode: 'host',
      ...(limits.cpus !== undefined ? { NanoCpus: Math.round(limits.cpus * 1e9) } : {}),
      ...(limits.memoryBytes !== undefined
        ? { Memory: limits.memoryBytes, MemorySwap: limits.memoryBytes }
        : {}),
    },
  });
  const remove = () => container.remove({ force: true }).catch(() => undefined); // already gone is fine
  let peak = 0;
  const sampleMemory = async () => {
    const bytes = containerMemoryBytes(await oneShotStats(container));
    peak = Math.max(peak, bytes);
    return bytes;
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await container.start();
    await waitReady(container, url, image);
    await sampleMemory();
  } catch (e) {
    await remove();
    throw e;
  }
  return {
    target: {
      url,
      server: {
        mode: 'image',
        cpus: limits.cpus ?? null,
        cpuLimit: limits.cpus !== undefined ? `Docker NanoCpus ${Math.round(limits.cpus * 1e9)}` : 'none',
        memoryLimitBytes: limits.memoryBytes ?? null,
        image,
        container: container.id,
      },
      measure: async () => {
        const first = await oneShotStats(container);
        const startedAt = performance.now();
        let stepPeak = containerMemoryBytes(first);
        let polling: Promise<void> = Promise.resolve();
        const timer = setInterval(() => {
          polling = sampleMemory().then(
            (bytes) => {
              stepPeak = Math.max(stepPeak, bytes);
            },
            () => undefined, // a failed poll is reported by the final read below
          );
        }, MEMORY_POLL_MS);
        return async (): Promise<StepUsage> => {
          clearInterval(timer);
          await polling;
          const last = await oneShotStats(container);
          const seconds = (performance.now() - startedAt) / 1000;
          const usedNs =
            (last.cpu_stats?.cpu_usage?.total_usage ?? 0) - (first.cpu_stats?.cpu_usage?.total_usage ?? 0);
          const memory = containerMemoryBytes(last);
          peak = Math.max(peak, memory);
          return {
            cpuCores: seconds > 0 ? usedNs / 1e9 / seconds : 0,
            peakRssBytes: Math.max(stepPeak, memory),
          };
        };
      },
      peakRssBytes: async () => {
        await sampleMemory();
        return peak;
      },
      stop: async () => {
        await container.stop({ t: 5 }).catch(() => undefined); // it may have stopped on its own
        await remove();
      },
    },
    warnings: [],
  };
}

async function ensureImage(docker: Docker, image: string): Promise<void> {
  try {
    await docker.getImage(image).inspect();
    return;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode !== 404) throw e;
  }
  try {
    const stream = await docker.pull(image);
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())),
    );
  } catch (e) {
    throw new NotFoundError(
      'IMAGE_NOT_FOUND',
      `image ${image} is not on the engine and could not be pulled: ${messageOf(e)}`,
      {
        hint: 'build it with `modelport package --model N:V --image REPO:TAG`',
      },
    );
  }
}

/** Stats right now (`one-shot`: no wait for a second sample). */
async function oneShotStats(container: Docker.Container): Promise<ContainerStats> {
  return (await container.stats({ stream: false, 'one-shot': true } as { stream: false })) as ContainerStats;
}

async function waitReady(container: Docker.Container, url: string, image: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const state = (await container.inspect()).State;
    if (!state.Running) {
      const logs = (await container.logs({ stdout: true, stderr: true, tail: 20 })).toString('utf8');
      throw new ModelportError(
        'SERVER_START_FAILED',
        `the container of ${image} exited (code ${state.ExitCode}) before it was ready: ${logs.trim()}`,
        {
          hint: `run it with \`docker run --rm --network host ${image}\` to see why`,
        },
      );
    }
    const ready = await fetch(`${url}/v2/health/ready`).then(
      (r) => r.status === 200,
      () => false, // not listening yet
    );
    if (ready) return;
    if (Date.now() > deadline) {
      throw new ModelportError(
        'SERVER_START_FAILED',
        `the container of ${image} was not ready within ${READY_TIMEOUT_MS / 1000} s`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
