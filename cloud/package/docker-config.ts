import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { isENOENT } from '../../common/errors.js';
import type { RegistryCredentials } from './engine-ops.js';
import type { ImageRef } from './image-ref.js';

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string }>;
}

/**
 * Credentials `docker login` stored for the image's registry in `$DOCKER_CONFIG/config.json`
 * (default ~/.docker), as plain `auths` entries. The engine never reads that file itself (the docker
 * CLI sends them with each push), so modelport does what the CLI does. Entries kept by a credential
 * helper (`credsStore`) carry no secret here and are not used.
 */
export function dockerLoginCredentials(
  env: NodeJS.ProcessEnv,
  ref: ImageRef,
): RegistryCredentials | undefined {
  const file = join(env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'), 'config.json');
  let config: DockerConfigFile;
  try {
    config = JSON.parse(readFileSync(file, 'utf8')) as DockerConfigFile;
  } catch (e) {
    // No file: nobody logged in. An unreadable or broken one is the docker CLI's to report.
    if (isENOENT(e) || e instanceof SyntaxError) return undefined;
    throw e;
  }
  const wanted =
    ref.registry === undefined ? ['index.docker.io', 'docker.io', 'registry-1.docker.io'] : [ref.registry];
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (!wanted.includes(hostOf(key))) continue;
    if (entry.username && entry.password) return { username: entry.username, password: entry.password };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
  }
  return undefined;
}

/** `https://host:port/v1/` → `host:port`, as the docker CLI matches `auths` keys. */
function hostOf(key: string): string {
  const bare = key.replace(/^https?:\/\//, '');
  const slash = bare.indexOf('/');
  return slash === -1 ? bare : bare.slice(0, slash);
}
