import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnDaemon, stopProcess, tailFile } from '../../support/engine/processes.js';
import { freeLoopbackPort, registryAnswers } from '../../support/engine/registry.js';
import { findExecutable } from '../../support/engine/run.js';
import { waitUntil } from '../../support/engine/wait.js';

export interface AuthRegistry {
  address: string;
  username: string;
  password: string;
  stop(): Promise<void>;
}

/**
 * A second Debian `docker-registry` on loopback that requires htpasswd (bcrypt) basic auth. The
 * distribution registry does not insist on TLS for it, and dockerd talks plain HTTP to loopback
 * registries, so the test engine pushes to it with credentials as it would to any private registry.
 */
export async function startAuthRegistry(dir: string): Promise<AuthRegistry> {
  const binary = await findExecutable('docker-registry');
  if (binary === undefined)
    throw new Error('docker-registry is not installed (scripts/engine/install-deps.sh)');
  mkdirSync(dir, { recursive: true });
  const username = 'edge-ci';
  // Characters a shell, a URL or JSON would mangle, so redaction is tested on a hard case.
  const password = `pw-${randomBytes(6).toString('hex')}-"q"&/+`;
  writeFileSync(join(dir, 'htpasswd'), `${username}:${bcrypt(password)}\n`);
  const port = await freeLoopbackPort();
  const address = `127.0.0.1:${port}`;
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'storage')}`,
      'http:',
      `  addr: ${address}`,
      '  secret: modelport-auth-registry',
      'auth:',
      '  htpasswd:',
      '    realm: modelport-test',
      `    path: ${join(dir, 'htpasswd')}`,
      '',
    ].join('\n'),
  );
  const logFile = join(dir, 'registry.log');
  const daemon = await spawnDaemon(binary, ['serve', config], { logFile });
  try {
    // /v2/ answers 401 until it gets credentials; a 401 proves it is up.
    await waitUntil(
      'auth registry',
      async () => {
        try {
          return await registryAnswers(address);
        } catch (e) {
          if (String(e).includes('401')) return true;
          throw e;
        }
      },
      { timeoutMs: 30_000 },
    );
  } catch (e) {
    await stopProcess(daemon.pid, 5_000);
    throw new Error(`auth registry did not start: ${e}\n${await tailFile(logFile)}`);
  }
  return { address, username, password, stop: () => stopProcess(daemon.pid, 10_000) };
}

/** A bcrypt hash from libc's crypt(3) (libxcrypt) through perl, which every Debian has. */
function bcrypt(password: string): string {
  const salt = randomBytes(16)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .padEnd(22, 'a')
    .slice(0, 22);
  const hash = execFileSync('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', password, `$2b$10$${salt}`], {
    encoding: 'utf8',
  });
  if (!hash.startsWith('$2b$10$')) throw new Error(`perl crypt() gave no bcrypt hash (${hash})`);
  return hash;
}
