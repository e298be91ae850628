/**
 * Registry credentials: a spec names environment variables (`usernameEnv`, `passwordEnv`), never the
 * secrets; the generator reads them when it runs and writes `registryCredentials` into the manifest,
 * which is what IoT Edge needs to pull. Printed output masks them (`maskSecrets`).
 */
import type { IssueList } from '../../manifests/errors.js';
import type { DeploymentSpec, RegistryCredential } from '../../manifests/index.js';

export type Environment = Readonly<Record<string, string | undefined>>;

export const MASK = '***';

/** Reads every credential's variables from `env`; records each unset (or empty) variable in `issues`. */
export function resolveRegistryCredentials(
  specCredentials: DeploymentSpec['registryCredentials'],
  env: Environment,
  issues: IssueList,
): Record<string, RegistryCredential> {
  const out: Record<string, RegistryCredential> = {};
  for (const [name, c] of Object.entries(specCredentials ?? {})) {
    const read = (field: 'usernameEnv' | 'passwordEnv', what: string): string | undefined => {
      const variable = c[field];
      const value = env[variable];
      if (value === undefined || value === '') {
        issues.add(
          ['registryCredentials', name, field],
          'env-missing',
          `environment variable ${variable} is ${value === '' ? 'empty' : 'not set'}; it must hold the ${what} for registry ${c.address}`,
        );
        return undefined;
      }
      return value;
    };
    const username = read('usernameEnv', 'user name');
    const password = read('passwordEnv', 'password');
    if (username !== undefined && password !== undefined)
      out[name] = { address: c.address, username, password };
  }
  return out;
}

/** A deep copy of `value` with every string under a key named `password` (any case) replaced by `***`. */
export function maskSecrets<T>(value: T): T {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v !== 'object' || v === null) return v;
    const out: Record<string, unknown> = {};
    for (const [k, child] of Object.entries(v)) {
      out[k] = typeof child === 'string' && isSecretKey(k) ? MASK : walk(child);
    }
    return out;
  };
  return walk(value) as T;
}

/** `password`, and layered-deployment keys that end in it (`properties.desired.….password`). */
function isSecretKey(key: string): boolean {
  const last = key.slice(key.lastIndexOf('.') + 1);
  return last.toLowerCase() === 'password';
}
