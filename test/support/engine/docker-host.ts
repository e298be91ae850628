import Docker from 'dockerode';
import { messageOf } from '../../../common/errors.js';
import { EngineHarnessError } from './errors.js';

/** A dockerode client for a DOCKER_HOST value (`unix:///path` or `tcp://host:port`, plain HTTP). */
export function dockerFromHost(dockerHost: string): Docker {
  if (dockerHost.startsWith('unix://')) {
    return new Docker({ socketPath: dockerHost.slice('unix://'.length) });
  }
  if (dockerHost.startsWith('tcp://') || dockerHost.startsWith('http://')) {
    const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
    return new Docker({ protocol: 'http', host: url.hostname, port: Number(url.port || 2375) });
  }
  throw new EngineHarnessError('ENGINE_UNREACHABLE', `unsupported DOCKER_HOST '${dockerHost}'`, {
    hint: 'use unix:///path/to/docker.sock or tcp://127.0.0.1:PORT',
  });
}

/** The engine's version if it answers within `timeoutMs`, else a rejection saying why. */
export async function engineVersion(docker: Docker, timeoutMs = 5_000): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return (await Promise.race([docker.version(), timeout])).Version;
  } finally {
    clearTimeout(timer);
  }
}

/** Like engineVersion, but a failure becomes ENGINE_UNREACHABLE naming the host and the reason. */
export async function requireEngine(dockerHost: string, timeoutMs = 5_000): Promise<string> {
  try {
    return await engineVersion(dockerFromHost(dockerHost), timeoutMs);
  } catch (e) {
    if (e instanceof EngineHarnessError) throw e;
    throw new EngineHarnessError(
      'ENGINE_UNREACHABLE',
      `the Docker engine at DOCKER_HOST=${dockerHost} does not answer: ${messageOf(e)}`,
      {
        cause: e,
        hint: 'start it (scripts/engine/dev-engine.sh start) or unset DOCKER_HOST so the harness starts its own',
      },
    );
  }
}
