/**
 * A desired module → the Docker `POST /containers/create` body: the manifest's createOptions as
 * given, with the module's env, the provider's binds, the agent's labels, and Docker's own restart
 * policy forced to `no` (the agent enforces restart policies itself).
 */
import type Docker from 'dockerode';
import type { DesiredModule, SpecParts } from '../reconcile/types.js';
import { LABEL } from './labels.js';

export interface CreateIdentity {
  agentId: string;
  deployment: string;
  specHash: string;
  specParts: SpecParts;
}

function envName(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : entry.slice(0, eq);
}

/** createOptions.Env entries, then the module's env (which wins for the same name). */
function mergeEnv(fromOptions: unknown, env: Record<string, string>): string[] {
  const base = Array.isArray(fromOptions)
    ? fromOptions.filter((e): e is string => typeof e === 'string')
    : [];
  const overridden = new Set(Object.keys(env));
  return [
    ...base.filter((e) => !overridden.has(envName(e))),
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
  ];
}

const asRecord = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

export function containerCreateBody(m: DesiredModule, id: CreateIdentity): Docker.ContainerCreateOptions {
  const options = structuredClone(m.createOptions) as Record<string, unknown>;
  const hostConfig = asRecord(options['HostConfig']);
  const binds = Array.isArray(hostConfig['Binds']) ? (hostConfig['Binds'] as string[]) : [];
  const labels = Object.fromEntries(
    Object.entries(asRecord(options['Labels'])).filter(([, v]) => typeof v === 'string'),
  ) as Record<string, string>;
  return {
    ...options,
    name: m.name,
    Image: m.image,
    Env: mergeEnv(options['Env'], m.env),
    Labels: {
      ...labels,
      [LABEL.managed]: 'true',
      [LABEL.agent]: id.agentId,
      [LABEL.module]: m.name,
      [LABEL.deployment]: id.deployment,
      [LABEL.version]: m.version,
      [LABEL.specHash]: id.specHash,
      [LABEL.specParts]: JSON.stringify(id.specParts),
      [LABEL.desiredStatus]: m.status,
      [LABEL.restartPolicy]: m.restartPolicy,
    },
    HostConfig: {
      ...hostConfig,
      ...(binds.length + m.binds.length > 0 && { Binds: [...binds, ...m.binds] }),
      RestartPolicy: { Name: 'no' },
    },
  } as Docker.ContainerCreateOptions;
}

/**
 * The create body of a start-first container: the module's, named `name` (old and new containers of
 * the module coexist during a swap), listening on `internalPort` (env `MODELPORT_PORT`, plus `env`),
 * with the port in a label so the proxy and the next pass find it.
 */
export function proxiedCreateBody(
  m: DesiredModule,
  id: CreateIdentity,
  placement: { name: string; internalPort: number; env: Record<string, string> },
): Docker.ContainerCreateOptions {
  const body = containerCreateBody(
    { ...m, env: { ...m.env, ...placement.env, MODELPORT_PORT: String(placement.internalPort) } },
    id,
  );
  return {
    ...body,
    name: placement.name,
    Labels: { ...body.Labels, [LABEL.internalPort]: String(placement.internalPort) },
  };
}
