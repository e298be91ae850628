/**
 * The agent home's path as the Docker host sees it. Module binds (the hub's CA file) are resolved
 * by the engine on the host, so when the agent itself runs in a container (agent/Dockerfile, home
 * on a volume or bind), the path inside the agent's container is the wrong one. The agent's own
 * container id is read from /proc/self/mountinfo (the engine bind-mounts its
 * `…/containers/<id>/hostname` file there, also under `--network host`), and its mounts from
 * `inspect`. Outside a container, or when anything is missing, the answer is undefined: the home
 * path is used as it is.
 */
import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type Docker from 'dockerode';

export interface MountLike {
  Source?: string;
  Destination?: string;
}

/** The container id in a mountinfo text, from the engine's per-container files. */
export function containerIdFromMountInfo(mountInfo: string): string | undefined {
  return /\/containers\/([0-9a-f]{64})\/(?:hostname|hosts|resolv\.conf)\b/.exec(mountInfo)?.[1];
}

/** Where `path` (inside the container) lives on the host, given the container's mounts. */
export function hostPathFromMounts(path: string, mounts: readonly MountLike[]): string | undefined {
  let best: { source: string; destination: string } | undefined;
  for (const m of mounts) {
    if (!m.Source || !m.Destination) continue;
    const inside = path === m.Destination || path.startsWith(`${m.Destination.replace(/\/$/, '')}${sep}`);
    if (inside && (!best || m.Destination.length > best.destination.length))
      best = { source: m.Source, destination: m.Destination };
  }
  return best && join(best.source, relative(best.destination, path));
}

/**
 * The host path of `home` when this process runs in a container of `docker`'s engine. `containerId`
 * is set when it runs in a container at all; `hostHome` only when `home` is on one of its mounts.
 * Rejects when the container cannot be inspected (e.g. another engine runs it).
 */
export async function detectHostHome(
  docker: Pick<Docker, 'getContainer'>,
  home: string,
  readMountInfo: () => Promise<string> = () => readFile('/proc/self/mountinfo', 'utf8'),
): Promise<{ containerId?: string; hostHome?: string }> {
  // Not on Linux, or no /proc: not in a Linux container either.
  const mountInfo = await readMountInfo().catch(() => '');
  const containerId = containerIdFromMountInfo(mountInfo);
  if (!containerId) return {};
  const info = await docker.getContainer(containerId).inspect();
  const hostHome = hostPathFromMounts(home, info.Mounts ?? []);
  return { containerId, ...(hostHome !== undefined && { hostHome }) };
}
