import type { TestProject } from 'vitest/node';
import { ensureBaseImage } from './base-image.js';
import { ARM64_BASE_IMAGE_TAG } from './base-image-arm64.js';
import { dockerFromHost } from './docker-host.js';
import { acquireEngine } from './engine.js';
import { engineEvents } from './events.js';
import type { EngineInfo } from './provided.js';
import { enginePaths, engineSettings } from './settings.js';

/**
 * Vitest global setup of the `docker` project: makes sure a Docker engine, a loopback registry and
 * the x64 base image are there, provides them as `engine`, and exports DOCKER_HOST and
 * MODELPORT_TEST_REGISTRY so code under test finds them. Throws (failing the run) when it can't.
 */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const settings = engineSettings();
  const events = engineEvents();
  const session = await acquireEngine(settings, events);
  const saved = {
    DOCKER_HOST: process.env.DOCKER_HOST,
    MODELPORT_TEST_REGISTRY: process.env.MODELPORT_TEST_REGISTRY,
  };
  try {
    const cacheDir = enginePaths(settings.home).cache;
    const started = Date.now();
    const base = await ensureBaseImage(dockerFromHost(session.dockerHost), {
      cacheDir,
      allowInstall: settings.allowInstall,
    });
    events.baseImageReady(base.tag, base.built, base.sizeBytes, Date.now() - started);
    const info: EngineInfo = {
      mode: session.mode,
      dockerHost: session.dockerHost,
      registry: session.registry,
      baseImage: base.tag,
      arm64BaseImage: ARM64_BASE_IMAGE_TAG,
      nodeVersion: process.versions.node,
      cacheDir,
      allowInstall: settings.allowInstall,
    };
    project.provide('engine', info);
    process.env.DOCKER_HOST = session.dockerHost;
    process.env.MODELPORT_TEST_REGISTRY = session.registry;
  } catch (e) {
    await session.release();
    throw e;
  }
  return async () => {
    restoreEnv(saved);
    await session.release();
  };
}

function restoreEnv(saved: Record<string, string | undefined>): void {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}
