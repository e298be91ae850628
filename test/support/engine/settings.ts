import os from 'node:os';
import path from 'node:path';

/** What the environment asks of the harness; read once per run (config has one source each). */
export interface EngineSettings {
  /** Root of everything the harness keeps: dev engine, per-run engines, caches, locks. */
  home: string;
  /** DOCKER_HOST: reuse this engine instead of starting one. */
  dockerHost: string | undefined;
  /** MODELPORT_TEST_REGISTRY (`127.0.0.1:PORT`): reuse this registry. */
  registry: string | undefined;
  /** MODELPORT_KEEP_ENGINE=1: start (or reuse) the persistent dev engine and leave it running. */
  keepEngine: boolean;
  /** MODELPORT_ENGINE_INSTALL=0 forbids apt-get installs of missing packages. */
  allowInstall: boolean;
}

export function engineSettings(env: NodeJS.ProcessEnv = process.env): EngineSettings {
  return {
    home: env.MODELPORT_ENGINE_DIR || path.join(os.tmpdir(), 'modelport-engine'),
    dockerHost: env.DOCKER_HOST || undefined,
    registry: env.MODELPORT_TEST_REGISTRY || undefined,
    keepEngine: env.MODELPORT_KEEP_ENGINE === '1',
    allowInstall: env.MODELPORT_ENGINE_INSTALL !== '0',
  };
}

/** Folders under the harness home. Short on purpose: containerd sockets live under them. */
export function enginePaths(home: string) {
  return {
    dev: path.join(home, 'dev'),
    runs: path.join(home, 'runs'),
    cache: path.join(home, 'cache'),
    locks: path.join(home, 'locks'),
  };
}
