import type { EngineMode } from './engine.js';

/** What the docker project's global setup hands to every test file (`inject('engine')`). */
export interface EngineInfo {
  mode: EngineMode;
  /** DOCKER_HOST of the engine (also set in process.env for code under test). */
  dockerHost: string;
  /** `127.0.0.1:PORT` of the OCI registry (also MODELPORT_TEST_REGISTRY). */
  registry: string;
  /** Tag of the x64 base image (node + glibc + busybox), already built. */
  baseImage: string;
  /** Tag the arm64 base gets; built on demand by `ensureArm64Base()` (slow the first time). */
  arm64BaseImage: string;
  /** Node version inside both base images (the host's). */
  nodeVersion: string;
  /** Downloads and build scratch space shared between runs. */
  cacheDir: string;
  allowInstall: boolean;
}

declare module 'vitest' {
  export interface ProvidedContext {
    engine: EngineInfo;
  }
}
