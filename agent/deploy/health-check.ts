/** Probes the modules of a deployment and returns one verdict per module (rules in health/health.ts). */
import {
  type ModuleHealth,
  moduleHealth,
  type ProbeResult,
  probeAddress,
  probeSpec,
} from '../health/health.js';
import type { Address } from '../health/probe.js';
import type { DesiredModule } from '../reconcile/types.js';
import type { ObservedContainer } from '../runtime/current-state.js';

export type Prober = (address: Address, path: string) => Promise<ProbeResult>;

export async function checkHealth(
  modules: readonly DesiredModule[],
  containers: readonly ObservedContainer[],
  probe: Prober,
  now: number,
  stableMs: number,
): Promise<ModuleHealth[]> {
  const byModule = new Map(containers.map((c) => [c.module, c]));
  return Promise.all(
    modules.map(async (m) => {
      const c = byModule.get(m.name);
      const spec = probeSpec(m);
      let result: ProbeResult | undefined;
      if (spec && c?.state === 'running' && c.health === 'none') {
        const address = probeAddress(c.inspect, spec);
        result = address
          ? await probe(address, spec.path)
          : { error: 'no address to probe (no IP, no host port)' };
      }
      return moduleHealth({ module: m, container: c, probe: result, now, stableMs });
    }),
  );
}
