import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isENOENT, messageOf } from '../../../common/errors.js';
import { ENGINE_PACKAGES, ensurePackages } from './apt.js';
import { requireEngine } from './docker-host.js';
import { startDockerd, stopDockerd } from './dockerd.js';
import { EngineHarnessError } from './errors.js';
import type { EngineEvents } from './events.js';
import { withLock } from './lock.js';
import { isAlive } from './processes.js';
import type { RegistryHandle } from './registry.js';
import { registryAnswers, startRegistry, stopRegistry } from './registry.js';
import type { EngineSettings } from './settings.js';
import { enginePaths } from './settings.js';

/** external: DOCKER_HOST given; dev: the persistent engine under <home>/dev; private: this run's own. */
export type EngineMode = 'external' | 'dev' | 'private';

export interface EngineSession {
  mode: EngineMode;
  dockerHost: string;
  /** `127.0.0.1:PORT` of the OCI registry. */
  registry: string;
  /** Stops whatever this session started; the dev and external engines stay up. */
  release(): Promise<void>;
}

export interface DaemonBinaries {
  dockerdPath?: string;
  registryPath?: string;
}

/**
 * Provides an engine and a registry for a test run: reuses DOCKER_HOST (and MODELPORT_TEST_REGISTRY)
 * when set, the dev engine when MODELPORT_KEEP_ENGINE=1, otherwise starts a private pair that
 * `release` stops. Every failure is an EngineHarnessError naming the reason; nothing is skipped.
 */
export async function acquireEngine(
  settings: EngineSettings,
  events: EngineEvents,
  binaries: DaemonBinaries = {},
): Promise<EngineSession> {
  if (settings.dockerHost !== undefined)
    return useExternalEngine(settings, settings.dockerHost, events, binaries);
  if (settings.keepEngine) {
    const dev = await ensureDevEngine(settings, events, binaries);
    return { mode: 'dev', ...dev, release: async () => {} };
  }
  return startPrivateEngine(settings, events, binaries);
}

async function useExternalEngine(
  settings: EngineSettings,
  dockerHost: string,
  events: EngineEvents,
  binaries: DaemonBinaries,
): Promise<EngineSession> {
  await requireEngine(dockerHost);
  if (settings.registry !== undefined) {
    await requireRegistry(settings.registry);
    events.engineReused('external', dockerHost, settings.registry);
    return { mode: 'external', dockerHost, registry: settings.registry, release: async () => {} };
  }
  // An engine without a registry: give this run its own registry beside it.
  const run = await createRunDir(settings, events);
  try {
    const registry = await timedRegistry(path.join(run, 'registry'), events, binaries);
    events.engineReused('external', dockerHost, registry.address);
    return {
      mode: 'external',
      dockerHost,
      registry: registry.address,
      release: () => removeRun(run, events),
    };
  } catch (e) {
    await removeRun(run, events);
    throw e;
  }
}

/** Starts dockerd + registry for this run under <home>/runs/<id>; `release` stops and deletes them. */
export async function startPrivateEngine(
  settings: EngineSettings,
  events: EngineEvents,
  binaries: DaemonBinaries = {},
): Promise<EngineSession> {
  await ensurePackages(ENGINE_PACKAGES, { allowInstall: settings.allowInstall });
  events.packagesChecked(ENGINE_PACKAGES.map((p) => p.pkg));
  const run = await createRunDir(settings, events);
  try {
    const started = Date.now();
    const dockerd = await startDockerd({ dir: run, dockerdPath: binaries.dockerdPath });
    events.dockerdStarted(dockerd.dockerHost, dockerd.version, Date.now() - started);
    const registry = await timedRegistry(path.join(run, 'registry'), events, binaries);
    return {
      mode: 'private',
      dockerHost: dockerd.dockerHost,
      registry: registry.address,
      release: () => removeRun(run, events),
    };
  } catch (e) {
    await removeRun(run, events);
    throw e;
  }
}

async function timedRegistry(dir: string, events: EngineEvents, binaries: DaemonBinaries, port?: number) {
  const started = Date.now();
  const registry = await startRegistry({ dir, registryPath: binaries.registryPath, port });
  events.registryStarted(registry.address, Date.now() - started);
  return registry;
}

/** A fresh run folder stamped with our pid, after removing folders whose owner died without teardown. */
async function createRunDir(settings: EngineSettings, events: EngineEvents): Promise<string> {
  const { runs } = enginePaths(settings.home);
  await mkdir(runs, { recursive: true });
  await sweepOrphanRuns(runs, events);
  const dir = path.join(runs, randomBytes(4).toString('hex'));
  await mkdir(dir);
  await writeFile(path.join(dir, 'owner'), `${process.pid}\n`);
  return dir;
}

/** Stops and deletes run folders whose owning process is gone (a run killed before its teardown). */
export async function sweepOrphanRuns(runsDir: string, events: EngineEvents): Promise<void> {
  for (const name of await readdir(runsDir)) {
    const dir = path.join(runsDir, name);
    let owner: number;
    try {
      owner = Number((await readFile(path.join(dir, 'owner'), 'utf8')).trim());
    } catch (e) {
      // No owner file: a folder being created this instant by another run; leave it.
      if (isENOENT(e)) continue;
      throw e;
    }
    if (Number.isInteger(owner) && owner > 0 && (await isAlive(owner))) continue;
    await removeRun(dir, events);
    events.orphanRunRemoved(dir);
  }
}

async function removeRun(dir: string, events: EngineEvents): Promise<void> {
  const started = Date.now();
  await stopRegistry(path.join(dir, 'registry'));
  await stopDockerd(dir);
  await rm(dir, { recursive: true, force: true });
  events.engineStopped(dir, Date.now() - started);
}

export async function requireRegistry(address: string): Promise<void> {
  try {
    await registryAnswers(address);
  } catch (e) {
    throw new EngineHarnessError(
      'REGISTRY_UNREACHABLE',
      `the registry at MODELPORT_TEST_REGISTRY=${address} does not answer: ${messageOf(e)}`,
      { cause: e, hint: 'start it (scripts/engine/dev-engine.sh start) or unset MODELPORT_TEST_REGISTRY' },
    );
  }
}

// ---- the persistent dev engine -------------------------------------------------------------

export interface DevEngine {
  dockerHost: string;
  registry: string;
}

function devPaths(settings: EngineSettings) {
  const dir = enginePaths(settings.home).dev;
  return { dir, registry: path.join(dir, 'registry'), state: path.join(dir, 'engine.json') };
}

/**
 * The dev engine under <home>/dev: reused while it answers, (re)started otherwise. Its data root
 * survives restarts, so base images are built once per machine.
 */
export async function ensureDevEngine(
  settings: EngineSettings,
  events: EngineEvents,
  binaries: DaemonBinaries = {},
): Promise<DevEngine> {
  const p = devPaths(settings);
  return withLock(path.join(enginePaths(settings.home).locks, 'dev-engine'), async () => {
    const previous = await readDevState(p.state);
    if (previous !== undefined && (await devEngineAnswers(previous))) {
      events.engineReused('dev', previous.dockerHost, previous.registry);
      return previous;
    }
    await ensurePackages(ENGINE_PACKAGES, { allowInstall: settings.allowInstall });
    // Leftovers of a half-dead dev engine (one daemon up, the other not) must not hold the folder.
    await stopRegistry(p.registry);
    await stopDockerd(p.dir);
    const started = Date.now();
    const dockerd = await startDockerd({ dir: p.dir, dockerdPath: binaries.dockerdPath });
    events.dockerdStarted(dockerd.dockerHost, dockerd.version, Date.now() - started);
    let registry: RegistryHandle;
    try {
      const port = previous === undefined ? undefined : Number(previous.registry.split(':')[1]);
      // Keep the previous port when we can, so exported MODELPORT_TEST_REGISTRY lines stay valid.
      registry = await timedRegistry(p.registry, events, binaries, port).catch(() =>
        timedRegistry(p.registry, events, binaries),
      );
    } catch (e) {
      await stopDockerd(p.dir);
      throw e;
    }
    const state: DevEngine = { dockerHost: dockerd.dockerHost, registry: registry.address };
    await writeFile(p.state, `${JSON.stringify(state, null, 2)}\n`);
    return state;
  });
}

/** The dev engine if both of its daemons answer, else undefined. */
export async function devEngineStatus(settings: EngineSettings): Promise<DevEngine | undefined> {
  const state = await readDevState(devPaths(settings).state);
  return state !== undefined && (await devEngineAnswers(state)) ? state : undefined;
}

/** Stops the dev engine; `purge` also deletes its data (images, registry storage). */
export async function stopDevEngine(
  settings: EngineSettings,
  events: EngineEvents,
  purge = false,
): Promise<void> {
  const p = devPaths(settings);
  const started = Date.now();
  await withLock(path.join(enginePaths(settings.home).locks, 'dev-engine'), async () => {
    await stopRegistry(p.registry);
    await stopDockerd(p.dir);
    // The state file stays (unless purging): the next start reuses its registry port.
    if (purge) await rm(p.dir, { recursive: true, force: true });
  });
  events.engineStopped(p.dir, Date.now() - started);
}

async function readDevState(file: string): Promise<DevEngine | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<DevEngine>;
    if (typeof parsed.dockerHost !== 'string' || typeof parsed.registry !== 'string') return undefined;
    return { dockerHost: parsed.dockerHost, registry: parsed.registry };
  } catch (e) {
    // Missing or torn state file: treat the dev engine as not running.
    if (isENOENT(e) || e instanceof SyntaxError) return undefined;
    throw e;
  }
}

async function devEngineAnswers(state: DevEngine): Promise<boolean> {
  try {
    await requireEngine(state.dockerHost, 3_000);
    await registryAnswers(state.registry);
    return true;
  } catch {
    // Either daemon is down: the caller restarts the pair.
    return false;
  }
}
