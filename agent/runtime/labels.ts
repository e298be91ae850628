/**
 * Labels on every container the agent creates. Containers are found by these labels only (never by
 * name), and the agent never touches a container that lacks `modelport.managed=true` together with
 * its own `modelport.agent` id (two agents may share an engine).
 */
export const LABEL = {
  managed: 'modelport.managed',
  agent: 'modelport.agent',
  module: 'modelport.module',
  /** The desired version that created the container. */
  deployment: 'modelport.deployment',
  /** The module's `version` in the manifest. */
  version: 'modelport.version',
  specHash: 'modelport.spec-hash',
  /** Short hashes of image, env, createOptions and version: says why a container is recreated. */
  specParts: 'modelport.spec-parts',
  desiredStatus: 'modelport.desired-status',
  restartPolicy: 'modelport.restart-policy',
  /** Start-first modules: the port the container listens on behind the agent's proxy. */
  internalPort: 'modelport.update.internal-port',
} as const;

/** The label filter that selects this agent's containers. */
export function managedFilter(agentId: string): string[] {
  return [`${LABEL.managed}=true`, `${LABEL.agent}=${agentId}`];
}
