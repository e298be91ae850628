/**
 * Hardware inventory, reported once per start under `modelport.inventory` so a deployment's target
 * condition (or an operator) can tell devices apart by capability: CPU architecture, cores, memory,
 * GPUs, OS. Read with systeminformation; a probe that fails leaves its part out rather than failing.
 */
import os from 'node:os';
import si from 'systeminformation';

export interface Inventory {
  /** Node's name for the CPU architecture: `x64`, `arm64`, `arm`. */
  arch: string;
  /** The kernel's name: `x86_64`, `aarch64`. */
  machine: string;
  cpu: { manufacturer: string; brand: string; cores: number; physicalCores: number; speedGHz: number };
  memory: { totalBytes: number; totalMiB: number };
  gpuCount: number;
  gpus: { vendor: string; model: string; vramMiB: number }[];
  os: { platform: string; distro: string; release: string; kernel: string };
}

export interface InventoryProbes {
  cpu: () => Promise<Awaited<ReturnType<typeof si.cpu>>>;
  mem: () => Promise<Awaited<ReturnType<typeof si.mem>>>;
  graphics: () => Promise<Awaited<ReturnType<typeof si.graphics>>>;
  osInfo: () => Promise<Awaited<ReturnType<typeof si.osInfo>>>;
}

const SYSTEMINFORMATION: InventoryProbes = {
  cpu: si.cpu,
  mem: si.mem,
  graphics: si.graphics,
  osInfo: si.osInfo,
};

const settle = async <T>(p: () => Promise<T>): Promise<T | undefined> => {
  try {
    return await p();
  } catch {
    // Inventory is informative: a probe that fails (no /proc, no nvidia-smi) leaves its part out.
    return undefined;
  }
};

export async function collectInventory(probes: InventoryProbes = SYSTEMINFORMATION): Promise<Inventory> {
  const [cpu, mem, graphics, info] = await Promise.all([
    settle(probes.cpu),
    settle(probes.mem),
    settle(probes.graphics),
    settle(probes.osInfo),
  ]);
  const totalBytes = mem?.total ?? os.totalmem();
  const gpus = (graphics?.controllers ?? []).map((g) => ({
    vendor: g.vendor ?? '',
    model: g.model ?? '',
    vramMiB: g.vram ?? 0,
  }));
  return {
    arch: process.arch,
    machine: os.machine(),
    cpu: {
      manufacturer: cpu?.manufacturer ?? '',
      brand: cpu?.brand ?? os.cpus()[0]?.model ?? '',
      cores: cpu?.cores ?? os.availableParallelism(),
      physicalCores: cpu?.physicalCores ?? os.availableParallelism(),
      speedGHz: cpu?.speed ?? 0,
    },
    memory: { totalBytes, totalMiB: Math.round(totalBytes / 1024 / 1024) },
    gpuCount: gpus.length,
    gpus,
    os: {
      platform: info?.platform ?? process.platform,
      distro: info?.distro ?? '',
      release: info?.release ?? os.release(),
      kernel: info?.kernel ?? os.release(),
    },
  };
}
