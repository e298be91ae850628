import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isENOENT, messageOf } from '../../../common/errors.js';
import { dockerFromHost, engineVersion } from './docker-host.js';
import { EngineHarnessError } from './errors.js';
import { processMatches, spawnDaemon, stopMatching, stopProcess, tailFile } from './processes.js';
import { findExecutable, runCommand } from './run.js';
import { waitUntil } from './wait.js';

export interface DockerdOptions {
  /** Folder that holds the socket, data and exec roots, pid file and log; created if missing. */
  dir: string;
  /** The daemon binary; default `dockerd` from PATH or the sbin folders. */
  dockerdPath?: string;
  /** Extra daemon flags (tests use a bad one to prove failures are reported). */
  extraArgs?: readonly string[];
  readyTimeoutMs?: number;
}

export interface DockerdHandle {
  dockerHost: string;
  pid: number;
  dir: string;
  logFile: string;
  version: string;
}

/** Files of a daemon folder; short names keep containerd's socket path under the 108-byte limit. */
export function dockerdPaths(dir: string) {
  return {
    socket: path.join(dir, 'docker.sock'),
    dataRoot: path.join(dir, 'data'),
    execRoot: path.join(dir, 'exec'),
    pidFile: path.join(dir, 'dockerd.pid'),
    logFile: path.join(dir, 'dockerd.log'),
    configFile: path.join(dir, 'daemon.json'),
  };
}

/**
 * Starts a private dockerd: vfs storage, no iptables and no bridge (containers use the host network),
 * its own data/exec roots, config file and containerd namespace, so it never clashes with another
 * engine on the machine. Resolves once the API answers; a daemon that exits or stays silent is
 * reported with the tail of its log.
 */
export async function startDockerd(options: DockerdOptions): Promise<DockerdHandle> {
  const dockerd = await findExecutable(options.dockerdPath ?? 'dockerd');
  if (dockerd === undefined) {
    throw new EngineHarnessError(
      'ENGINE_BINARY_MISSING',
      `dockerd not found at '${options.dockerdPath ?? 'dockerd'}'`,
      {
        hint: 'install Debian docker.io (scripts/engine/install-deps.sh) or pass the right dockerdPath',
      },
    );
  }
  const p = dockerdPaths(options.dir);
  await mkdir(options.dir, { recursive: true });
  // An empty config file: /etc/docker/daemon.json (if any) must not change our daemon.
  await writeFile(p.configFile, '{}\n');
  // A crashed daemon leaves its socket behind; dockerd would refuse to listen on it.
  await rm(p.socket, { force: true });
  const namespace = `modelport-${createHash('sha256').update(options.dir).digest('hex').slice(0, 12)}`;
  const args = [
    `--host=unix://${p.socket}`,
    `--data-root=${p.dataRoot}`,
    `--exec-root=${p.execRoot}`,
    `--pidfile=${p.pidFile}`,
    `--config-file=${p.configFile}`,
    `--containerd-namespace=${namespace}`,
    `--containerd-plugins-namespace=${namespace}-plugins`,
    '--storage-driver=vfs',
    '--iptables=false',
    '--ip6tables=false',
    '--ip-masq=false',
    '--bridge=none',
    '--shutdown-timeout=5',
    ...(options.extraArgs ?? []),
  ];
  await writeFile(p.logFile, `--- ${new Date().toISOString()} ${dockerd} ${args.join(' ')}\n`, { flag: 'a' });
  const daemon = await spawnDaemon(dockerd, args, { logFile: p.logFile }).catch((e: unknown) => {
    throw new EngineHarnessError('ENGINE_START_FAILED', `could not run ${dockerd}: ${messageOf(e)}`, {
      cause: e,
    });
  });
  let exitReason: string | undefined;
  void daemon.exited.then((exit) => {
    exitReason = exit.spawnError
      ? `spawn failed: ${exit.spawnError.message}`
      : `dockerd exited (code ${exit.code}, signal ${exit.signal})`;
  });
  const dockerHost = `unix://${p.socket}`;
  const docker = dockerFromHost(dockerHost);
  try {
    const version = await waitUntil('dockerd', () => engineVersion(docker, 2_000), {
      timeoutMs: options.readyTimeoutMs ?? 60_000,
      intervalMs: 100,
      abort: () => (exitReason === undefined ? undefined : new Error(exitReason)),
    });
    return { dockerHost, pid: daemon.pid, dir: options.dir, logFile: p.logFile, version };
  } catch (e) {
    await stopProcess(daemon.pid, 10_000);
    await stopMatching(p.execRoot);
    await unmountUnder(options.dir);
    const log = await tailFile(p.logFile);
    throw new EngineHarnessError('ENGINE_START_FAILED', `dockerd did not come up: ${messageOf(e)}\n${log}`, {
      cause: e,
      details: { logFile: p.logFile },
      hint: `full log: ${p.logFile}`,
    });
  }
}

/**
 * Stops the dockerd whose pid file is in `dir` (only if that pid really is a dockerd for this folder)
 * and waits for it to exit; its managed containerd exits with it.
 */
export async function stopDockerd(dir: string, graceMs = 30_000): Promise<void> {
  const p = dockerdPaths(dir);
  const pid = await readPidFile(p.pidFile);
  if (pid !== undefined && (await processMatches(pid, p.socket))) await stopProcess(pid, graceMs);
  // After a SIGKILL its containerd and shims outlive it; they all name our exec root.
  await stopMatching(p.execRoot);
  // dockerd 20.10 leaves its bind mount of the default netns (exec-root/netns/default) mounted,
  // which would make deleting the folder fail with EBUSY.
  await unmountUnder(dir);
}

/** Lazily unmounts every mount point inside `dir`, deepest first. */
export async function unmountUnder(dir: string): Promise<void> {
  const prefix = `${path.resolve(dir)}/`;
  const mountPoints = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mp): mp is string => mp?.startsWith(prefix) === true)
    .sort((a, b) => b.length - a.length);
  for (const mp of mountPoints) await runCommand('umount', ['-l', mp]);
}

async function readPidFile(file: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (e) {
    // No pid file: dockerd never started or removed it on a clean exit.
    if (isENOENT(e)) return undefined;
    throw e;
  }
}
