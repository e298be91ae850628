/**
 * Pieces of the `$edgeAgent` reported properties that the agent derives from a pass: the deployment's
 * progress, and `systemModules.edgeHub` when the agent plays edgeHub itself.
 */
import type { AgentEdgeServices } from '../agent.js';
import type { PassSnapshot } from '../deploy/loop.js';
import type { DeploymentProgress } from './reported.js';

export function progressOf(snapshot: PassSnapshot): DeploymentProgress | undefined {
  const target = snapshot.target;
  if (!target) return undefined;
  const waiting = snapshot.waits.filter((w) => w.reason !== 'backoff').map((w) => w.detail);
  const unhealthy = snapshot.health.filter((h) => !h.healthy).map((h) => `${h.module}: ${h.detail}`);
  const rollback = target.rollbackOf !== undefined;
  const phase =
    target.phase === 'steady'
      ? rollback
        ? 'rolled-back'
        : 'running'
      : rollback
        ? 'rolling-back'
        : target.phase;
  return {
    version: target.record.version,
    phase,
    detail: [...waiting, ...unhealthy].join('; ').slice(0, 1_000),
  };
}

/** `systemModules.edgeHub` when the agent runs the local hub itself. */
export function edgeHubSystemModule(
  services: Pick<AgentEdgeServices, 'edgeHubModuleReported'>,
  agentImage: string,
): Record<string, unknown> {
  return {
    ...services.edgeHubModuleReported(),
    restartCount: 0,
    status: 'running',
    restartPolicy: 'always',
    type: 'docker',
    // The image the deployment names for edgeHub is not run: this agent plays edgeHub.
    settings: { image: agentImage },
  };
}
