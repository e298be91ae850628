import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { messageOf, UnavailableError, UsageError } from '../../common/errors.js';
import { lazyRequire } from '../../common/lazy-require.js';

const dockerode = lazyRequire<typeof Docker>('dockerode');

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** A dockerode client and a description of where it points, for messages. */
export interface DockerEngine {
  docker: Docker;
  /** `DOCKER_HOST=…` or `the default socket … (DOCKER_HOST is not set)`. */
  describe: string;
}

/**
 * A client for the engine the Docker CLI would use: DOCKER_HOST (`unix://`, `tcp://`, `ssh://`), with
 * TLS when DOCKER_TLS_VERIFY=1 (certificates from DOCKER_CERT_PATH, default ~/.docker).
 */
export function dockerEngineFromEnv(env: NodeJS.ProcessEnv): DockerEngine {
  const host = env.DOCKER_HOST?.trim() || undefined;
  const describe =
    host === undefined ? `${DEFAULT_DOCKER_HOST} (DOCKER_HOST is not set)` : `DOCKER_HOST=${host}`;
  const value = host ?? DEFAULT_DOCKER_HOST;
  if (value.startsWith('unix://')) {
    return { docker: new (dockerode())({ socketPath: value.slice('unix://'.length) }), describe };
  }
  let url: URL;
  try {
    url = new URL(value.includes('://') ? value : `tcp://${value}`);
  } catch {
    // Not a URL at all: report the variable, not the parser's words.
    throw badHost(value);
  }
  if (url.protocol === 'ssh:') {
    return {
      docker: new (dockerode())({
        protocol: 'ssh',
        host: url.hostname,
        port: Number(url.port || 22),
        username: decodeURIComponent(url.username) || undefined,
        sshOptions: { agent: env.SSH_AUTH_SOCK },
      }),
      describe,
    };
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:') throw badHost(value);
  const tls = env.DOCKER_TLS_VERIFY === '1' || url.protocol === 'https:' || url.port === '2376';
  const port = Number(url.port || (tls ? 2376 : 2375));
  if (!tls) return { docker: new (dockerode())({ protocol: 'http', host: url.hostname, port }), describe };
  const certs = env.DOCKER_CERT_PATH || join(env.HOME ?? '', '.docker');
  const read = (file: string) => {
    try {
      return readFileSync(join(certs, file));
    } catch (e) {
      throw new UsageError(
        'DOCKER_TLS_FILES_MISSING',
        `cannot read ${join(certs, file)} for TLS to ${describe}`,
        {
          hint: 'set DOCKER_CERT_PATH to the folder holding ca.pem, cert.pem and key.pem',
          cause: e,
        },
      );
    }
  };
  return {
    docker: new (dockerode())({
      protocol: 'https',
      host: url.hostname,
      port,
      ca: read('ca.pem'),
      cert: read('cert.pem'),
      key: read('key.pem'),
    }),
    describe,
  };
}

function badHost(value: string): UsageError {
  return new UsageError('DOCKER_HOST_INVALID', `DOCKER_HOST '${value}' is not an engine address`, {
    hint: 'use unix:///var/run/docker.sock, tcp://HOST:2375 or ssh://USER@HOST',
  });
}

/** Fails with exit 5 naming DOCKER_HOST when the engine does not answer within `timeoutMs`. */
export async function requireEngine(engine: DockerEngine, timeoutMs = 10_000): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const version = await Promise.race([engine.docker.version(), timeout]);
    return version.ApiVersion;
  } catch (e) {
    throw new UnavailableError(
      'DOCKER_UNREACHABLE',
      `the Docker engine at ${engine.describe} is not reachable: ${messageOf(e)}`,
      {
        hint: 'start Docker, or set DOCKER_HOST to a running engine (unix:///var/run/docker.sock, tcp://HOST:2375)',
        cause: e,
      },
    );
  } finally {
    clearTimeout(timer);
  }
}
