/**
 * The manifest's modules → the modules the agent runs. The agent adds per-module env and binds from
 * a ModuleEnvironmentProvider: the seam where the local hub (issue 9) hands each module its
 * `EdgeHubConnectionString` and `EdgeModuleCACertificateFile`. What the provider adds is part of the
 * spec hash, so a changed connection string recreates the module.
 */
import type { EdgeAgentDesired, EdgeModule } from '../../manifests/index.js';
import type { DesiredModule } from './types.js';

export interface ModuleEnvironment {
  env?: Record<string, string>;
  binds?: string[];
}

export interface ModuleEnvironmentProvider {
  /** Env and binds for one module's container; called each pass, so it must be cheap and pure. */
  forModule(name: string, module: EdgeModule): ModuleEnvironment;
}

/** No additions: what runs is exactly what the manifest says. */
export const NO_MODULE_ENVIRONMENT: ModuleEnvironmentProvider = { forModule: () => ({}) };

export function desiredModules(
  agent: EdgeAgentDesired,
  provider: ModuleEnvironmentProvider = NO_MODULE_ENVIRONMENT,
): DesiredModule[] {
  return Object.entries(agent.modules).map(([name, m]) => {
    const extra = provider.forModule(name, m);
    return {
      name,
      image: m.settings.image,
      createOptions: m.settings.createOptions,
      env: { ...m.env, ...extra.env },
      binds: [...(extra.binds ?? [])],
      version: m.version ?? '',
      status: m.status,
      restartPolicy: m.restartPolicy,
      startupOrder: m.startupOrder,
      imagePullPolicy: m.imagePullPolicy,
    };
  });
}
