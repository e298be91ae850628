import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import si from 'systeminformation';

/** What this machine and the onnxruntime binding offer, for choosing execution providers. */
export interface HardwareFacts {
  cpu: { brand: string; manufacturer: string; cores: number; physicalCores: number };
  gpus: { vendor: string; model: string }[];
  /** Execution providers the installed onnxruntime-node binding knows, and whether each is usable. */
  binding: { name: string; bundled: boolean; libraryInstalled: boolean }[];
  platform: string;
  arch: string;
}

/**
 * Reads the CPU and GPUs (systeminformation) and the binding's provider list. The GPU scan runs
 * tools like lspci/nvidia-smi, so it happens only when a GPU provider is asked for.
 */
export async function gatherHardwareFacts(options: { gpus: boolean }): Promise<HardwareFacts> {
  process.env.ORT_DISABLE_TELEMETRY ??= '1'; // before the native library loads
  // systeminformation reads /proc and runs tools that an image may lack: a failed probe is "unknown".
  const [cpu, graphics, binding] = await Promise.all([
    si.cpu().catch(() => ({
      brand: cpus()[0]?.model ?? 'unknown',
      manufacturer: '',
      cores: availableParallelism(),
      physicalCores: 0,
    })),
    options.gpus ? si.graphics().catch(() => ({ controllers: [] })) : Promise.resolve({ controllers: [] }),
    bindingProviders(),
  ]);
  return {
    cpu: {
      brand: cpu.brand,
      manufacturer: cpu.manufacturer,
      cores: cpu.cores,
      physicalCores: cpu.physicalCores,
    },
    gpus: graphics.controllers.map((c) => ({ vendor: c.vendor ?? '', model: c.model ?? '' })),
    binding,
    platform: process.platform,
    arch: process.arch,
  };
}

async function bindingProviders(): Promise<HardwareFacts['binding']> {
  const ort = await import('onnxruntime-node');
  // Providers that are not bundled ship as a shared library beside the binding, installed by
  // onnxruntime-node's install script (which images skip unless asked to fetch them).
  const require = createRequire(import.meta.url);
  const bindingDir = join(
    dirname(require.resolve('onnxruntime-node')),
    '..',
    'bin',
    'napi-v6',
    process.platform,
    process.arch,
  );
  return ort.listSupportedBackends().map((b) => ({
    name: b.name,
    bundled: b.bundled,
    libraryInstalled: b.bundled || libraryNames(b.name).some((f) => existsSync(join(bindingDir, f))),
  }));
}

function libraryNames(provider: string): string[] {
  return [`libonnxruntime_providers_${provider}.so`, `onnxruntime_providers_${provider}.dll`];
}
