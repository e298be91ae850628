import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { isENOENT, messageOf } from '../../../common/errors.js';
import { EngineHarnessError } from './errors.js';
import { processMatches, spawnDaemon, stopProcess, tailFile } from './processes.js';
import { findExecutable } from './run.js';
import { waitUntil } from './wait.js';

export interface RegistryOptions {
  /** Folder for the config, storage, pid file and log; created if missing. */
  dir: string;
  registryPath?: string;
  /** Loopback port; default a free one (retried if another process takes it first). */
  port?: number;
  readyTimeoutMs?: number;
}

export interface RegistryHandle {
  /** `127.0.0.1:PORT`, the host part of image names pushed to it. */
  address: string;
  pid: number;
  dir: string;
  logFile: string;
}

export function registryPaths(dir: string) {
  return {
    config: path.join(dir, 'config.yml'),
    storage: path.join(dir, 'storage'),
    pidFile: path.join(dir, 'registry.pid'),
    logFile: path.join(dir, 'registry.log'),
  };
}

/**
 * Starts Debian's `docker-registry serve` on 127.0.0.1 with filesystem storage. dockerd accepts
 * plain HTTP for loopback registries, so push and pull need no TLS. Resolves once `/v2/` answers.
 */
export async function startRegistry(options: RegistryOptions): Promise<RegistryHandle> {
  const binary = await findExecutable(options.registryPath ?? 'docker-registry');
  if (binary === undefined) {
    throw new EngineHarnessError(
      'ENGINE_BINARY_MISSING',
      `docker-registry not found at '${options.registryPath ?? 'docker-registry'}'`,
      { hint: 'install Debian docker-registry (scripts/engine/install-deps.sh)' },
    );
  }
  await mkdir(options.dir, { recursive: true });
  // A free port can be taken between our probe and the registry's bind: try a few.
  const attempts = options.port === undefined ? 3 : 1;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = options.port ?? (await freeLoopbackPort());
    try {
      return await startOnPort(binary, port, options);
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

async function startOnPort(binary: string, port: number, options: RegistryOptions): Promise<RegistryHandle> {
  const p = registryPaths(options.dir);
  const address = `127.0.0.1:${port}`;
  await writeFile(p.config, registryConfig(p.storage, address));
  await writeFile(p.logFile, `--- ${new Date().toISOString()} ${binary} serve ${p.config}\n`, { flag: 'a' });
  const daemon = await spawnDaemon(binary, ['serve', p.config], { logFile: p.logFile }).catch(
    (e: unknown) => {
      throw new EngineHarnessError('REGISTRY_START_FAILED', `could not run ${binary}: ${messageOf(e)}`, {
        cause: e,
      });
    },
  );
  await writeFile(p.pidFile, `${daemon.pid}\n`);
  let exitReason: string | undefined;
  void daemon.exited.then((exit) => {
    exitReason = exit.spawnError
      ? `spawn failed: ${exit.spawnError.message}`
      : `docker-registry exited (code ${exit.code}, signal ${exit.signal})`;
  });
  try {
    await waitUntil('registry', () => registryAnswers(address), {
      timeoutMs: options.readyTimeoutMs ?? 30_000,
      abort: () => (exitReason === undefined ? undefined : new Error(exitReason)),
    });
    return { address, pid: daemon.pid, dir: options.dir, logFile: p.logFile };
  } catch (e) {
    await stopProcess(daemon.pid, 5_000);
    await rm(p.pidFile, { force: true });
    const log = await tailFile(p.logFile);
    throw new EngineHarnessError(
      'REGISTRY_START_FAILED',
      `registry did not come up on ${address}: ${messageOf(e)}\n${log}`,
      {
        cause: e,
        details: { logFile: p.logFile },
        hint: `full log: ${p.logFile}`,
      },
    );
  }
}

/** True once `GET http://ADDRESS/v2/` answers 200 (the distribution API's version check). */
export async function registryAnswers(address: string): Promise<true> {
  const res = await fetch(`http://${address}/v2/`, { signal: AbortSignal.timeout(2_000) });
  await res.body?.cancel();
  if (res.status !== 200) throw new Error(`GET /v2/ answered ${res.status}`);
  return true;
}

/** Stops the registry whose pid file is in `dir`, if that pid really serves this folder's config. */
export async function stopRegistry(dir: string): Promise<void> {
  const p = registryPaths(dir);
  let pid: number;
  try {
    pid = Number((await readFile(p.pidFile, 'utf8')).trim());
  } catch (e) {
    if (isENOENT(e)) return;
    throw e;
  }
  if (Number.isInteger(pid) && pid > 0 && (await processMatches(pid, p.config))) {
    await stopProcess(pid, 10_000);
  }
  await rm(p.pidFile, { force: true });
}

function registryConfig(storage: string, address: string): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${address}`,
    '  secret: modelport-test-registry',
    '',
  ].join('\n');
}

/** A port that was free on 127.0.0.1 a moment ago (the OS picks it). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port assigned'));
      });
    });
  });
}
