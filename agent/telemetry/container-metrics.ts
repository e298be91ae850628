/**
 * Per-module figures from the Docker engine (dockerode): CPU, memory, network and block I/O of each
 * container the agent manages, and where a scoring module's `/metrics` can be scraped.
 */
import type Docker from 'dockerode';
import { LABEL } from '../runtime/labels.js';

export interface ModuleContainer {
  moduleId: string;
  containerId: string;
  running: boolean;
  /** `http://host:port/metrics` when the container runs the scoring server. */
  metricsUrl: string | undefined;
}

export interface ContainerFigures {
  cpuPercent: number | undefined;
  memoryBytes: number | undefined;
  memoryLimitBytes: number | undefined;
  networkRxBytes: number;
  networkTxBytes: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  pids: number | undefined;
}

const DEFAULT_SCORING_PORT = 5001;

/** Containers labelled as managed by the agent (and, given `agentId`, by this agent). */
export async function managedContainers(docker: Docker, agentId?: string): Promise<ModuleContainer[]> {
  const label = [`${LABEL.managed}=true`, ...(agentId ? [`${LABEL.agent}=${agentId}`] : [])];
  const list = await docker.listContainers({ all: true, filters: { label } });
  const out: ModuleContainer[] = [];
  for (const c of list) {
    const moduleId = c.Labels[LABEL.module];
    if (!moduleId) continue;
    let inspect: Docker.ContainerInspectInfo;
    try {
      inspect = await docker.getContainer(c.Id).inspect();
    } catch (e) {
      // Removed between list and inspect: not a module any more.
      if ((e as { statusCode?: number }).statusCode === 404) continue;
      throw e;
    }
    out.push({
      moduleId,
      containerId: c.Id,
      running: inspect.State.Running,
      metricsUrl: inspect.State.Running ? scoringMetricsUrl(inspect) : undefined,
    });
  }
  return out.sort((a, b) => a.moduleId.localeCompare(b.moduleId));
}

/**
 * Where the scoring server of a container answers: its port from `MODELPORT_PORT` (or 5001 when the
 * container carries `AZUREML_MODEL_DIR`), on 127.0.0.1 for host networking or a published port,
 * else on the container's own address.
 */
export function scoringMetricsUrl(inspect: Docker.ContainerInspectInfo): string | undefined {
  const env = new Map(
    (inspect.Config.Env ?? []).map((e) => {
      const eq = e.indexOf('=');
      return [e.slice(0, eq), e.slice(eq + 1)] as const;
    }),
  );
  const configured = env.get('MODELPORT_PORT');
  const port =
    configured !== undefined ? Number(configured) : env.has('AZUREML_MODEL_DIR') ? DEFAULT_SCORING_PORT : NaN;
  if (!Number.isInteger(port) || port <= 0) return undefined;
  if (inspect.HostConfig.NetworkMode === 'host') return `http://127.0.0.1:${port}/metrics`;
  const published = inspect.NetworkSettings.Ports?.[`${port}/tcp`]?.[0]?.HostPort;
  if (published) return `http://127.0.0.1:${published}/metrics`;
  const address = Object.values(inspect.NetworkSettings.Networks ?? {}).find((n) => n.IPAddress)?.IPAddress;
  return address ? `http://${address}:${port}/metrics` : undefined;
}

interface StatsJson {
  cpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  blkio_stats?: { io_service_bytes_recursive?: Array<{ op: string; value: number }> | null };
  pids_stats?: { current?: number };
}

export async function containerFigures(docker: Docker, containerId: string): Promise<ContainerFigures> {
  const stats = (await docker.getContainer(containerId).stats({ stream: false })) as unknown as StatsJson;
  return figuresFromStats(stats);
}

/** As `docker stats` computes them (memory without the page cache). */
export function figuresFromStats(s: StatsJson): ContainerFigures {
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats?.online_cpus ?? 1;
  const cache =
    s.memory_stats?.stats?.inactive_file ??
    s.memory_stats?.stats?.total_inactive_file ??
    s.memory_stats?.stats?.cache ??
    0;
  const usage = s.memory_stats?.usage;
  const io = s.blkio_stats?.io_service_bytes_recursive ?? [];
  const sumIo = (op: string) => io.filter((e) => e.op.toLowerCase() === op).reduce((n, e) => n + e.value, 0);
  const nets = Object.values(s.networks ?? {});
  return {
    cpuPercent:
      systemDelta > 0 && cpuDelta >= 0
        ? Math.round((cpuDelta / systemDelta) * cpus * 10000) / 100
        : undefined,
    memoryBytes: usage === undefined ? undefined : Math.max(0, usage - cache),
    memoryLimitBytes: s.memory_stats?.limit,
    networkRxBytes: nets.reduce((n, x) => n + (x.rx_bytes ?? 0), 0),
    networkTxBytes: nets.reduce((n, x) => n + (x.tx_bytes ?? 0), 0),
    blockReadBytes: sumIo('read'),
    blockWriteBytes: sumIo('write'),
    pids: s.pids_stats?.current,
  };
}
