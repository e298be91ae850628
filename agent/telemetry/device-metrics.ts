/**
 * The device's own figures for telemetry: CPU load, memory, disk use of the agent home and of
 * Docker's root folder, CPU temperature and GPUs where the machine reports them (systeminformation).
 */
import { statfs } from 'node:fs/promises';
import si from 'systeminformation';

export interface DiskUse {
  path: string;
  totalBytes: number;
  usedBytes: number;
  availableBytes: number;
  usedPercent: number;
}

export interface GpuFigures {
  model: string;
  vendor: string;
  utilizationPercent?: number;
  memoryUsedMiB?: number;
  memoryTotalMiB?: number;
  temperatureC?: number;
}

export interface DeviceMetrics {
  cpu: { loadPercent: number; perCore: number[] };
  memory: { totalBytes: number; availableBytes: number; usedBytes: number; swapUsedBytes: number };
  disks: { agentHome?: DiskUse; dockerRoot?: DiskUse };
  temperatureC?: number;
  gpus: GpuFigures[];
}

export async function diskUse(path: string): Promise<DiskUse> {
  const fs = await statfs(path);
  const block = Number(fs.bsize);
  const total = Number(fs.blocks) * block;
  const free = Number(fs.bfree) * block;
  const available = Number(fs.bavail) * block;
  const used = total - free;
  // As df computes Use%: used over what non-root users can reach.
  const usedPercent = used + available > 0 ? (100 * used) / (used + available) : 0;
  return {
    path,
    totalBytes: total,
    usedBytes: used,
    availableBytes: available,
    usedPercent: round(usedPercent),
  };
}

export async function deviceMetrics(paths: {
  agentHome: string;
  dockerRoot?: string;
}): Promise<DeviceMetrics> {
  const [load, mem, temp, graphics, home, docker] = await Promise.all([
    si.currentLoad(),
    si.mem(),
    si.cpuTemperature().catch(() => undefined),
    si.graphics().catch(() => undefined),
    diskUse(paths.agentHome).catch(() => undefined),
    // Docker's root is on the engine's machine: readable only when that is this machine.
    paths.dockerRoot ? diskUse(paths.dockerRoot).catch(() => undefined) : Promise.resolve(undefined),
  ]);
  const gpus: GpuFigures[] = (graphics?.controllers ?? [])
    .filter((c) => c.utilizationGpu !== undefined || c.memoryTotal !== undefined)
    .map((c) => ({
      model: c.model,
      vendor: c.vendor,
      ...(c.utilizationGpu !== undefined && { utilizationPercent: c.utilizationGpu }),
      ...(c.memoryUsed !== undefined && { memoryUsedMiB: c.memoryUsed }),
      ...(c.memoryTotal !== undefined && { memoryTotalMiB: c.memoryTotal }),
      ...(c.temperatureGpu !== undefined && { temperatureC: c.temperatureGpu }),
    }));
  const temperature = temp && Number.isFinite(temp.main) && temp.main > 0 ? temp.main : undefined;
  return {
    cpu: { loadPercent: round(load.currentLoad), perCore: load.cpus.map((c) => round(c.load)) },
    memory: {
      totalBytes: mem.total,
      availableBytes: mem.available,
      usedBytes: mem.total - mem.available,
      swapUsedBytes: mem.swapused,
    },
    disks: { ...(home && { agentHome: home }), ...(docker && { dockerRoot: docker }) },
    ...(temperature !== undefined && { temperatureC: temperature }),
    gpus,
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
