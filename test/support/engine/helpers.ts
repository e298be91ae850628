import type Docker from 'dockerode';
import { inject } from 'vitest';
import { messageOf } from '../../../common/errors.js';
import type { BaseImage } from './base-image.js';
import { ensureArm64BaseImage } from './base-image-arm64.js';
import { dockerFromHost } from './docker-host.js';
import type { EngineInfo } from './provided.js';
import { freeLoopbackPort } from './registry.js';
import type { HttpAnswer } from './wait.js';
import { waitForHttp } from './wait.js';

export type { HttpAnswer };
export { waitForHttp };

/** Label on everything runContainer creates, so a run's leftovers can be found. */
export const HARNESS_LABEL = 'modelport.test.harness';

/** The engine the global setup provided (only inside test files of the docker project). */
export function engineInfo(): EngineInfo {
  return inject('engine');
}

/** A dockerode client for the provided engine. */
export function dockerClient(info: EngineInfo = engineInfo()): Docker {
  return dockerFromHost(info.dockerHost);
}

/** A free TCP port on 127.0.0.1 (containers share the host network, so tests pick ports). */
export function freePort(): Promise<number> {
  return freeLoopbackPort();
}

/** Builds (first time) or reuses the arm64 base image; call it only in tests that need arm64. */
export function ensureArm64Base(info: EngineInfo = engineInfo()): Promise<BaseImage> {
  return ensureArm64BaseImage(dockerFromHost(info.dockerHost), {
    cacheDir: info.cacheDir,
    tag: info.arm64BaseImage,
    nodeVersion: info.nodeVersion,
    allowInstall: info.allowInstall,
  });
}

/**
 * Removes every container (forced, with volumes) and then every image carrying `label`
 * (`key=value` or `key`), for afterAll cleanup. Returns how many of each went.
 */
export async function removeByLabel(
  label: string,
  docker: Docker = dockerClient(),
): Promise<{ containers: number; images: number }> {
  const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
  await Promise.all(
    containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(ignoreGone)),
  );
  // Children before parents: an image others were built FROM can't go first (409 "has dependent child
  // images"), and `Created` has one-second resolution, so it can't order images built in the same second.
  const pending = new Map(
    (await docker.listImages({ all: true, filters: { label: [label] } })).map((i) => [i.Id, i]),
  );
  let removed = 0;
  while (pending.size > 0) {
    const parents = new Set([...pending.values()].map((i) => i.ParentId));
    const leaves = [...pending.values()].filter((i) => !parents.has(i.Id));
    for (const image of leaves) {
      pending.delete(image.Id);
      try {
        // `noprune`: unlabelled parents are build cache another test file's build may be using now.
        await docker.getImage(image.Id).remove({ force: true, noprune: true });
        removed++;
      } catch (e) {
        ignoreGone(e);
      }
    }
  }
  return { containers: containers.length, images: removed };
}

/** 404: removed meanwhile (e.g. by a parent's removal); anything else is a real failure. */
function ignoreGone(e: unknown): void {
  if ((e as { statusCode?: number }).statusCode !== 404) throw e;
}

export interface RunContainerOptions {
  image: string;
  cmd?: string[];
  entrypoint?: string[];
  env?: Record<string, string>;
  /** Port the process listens on (host network, no mapping): passed as MODELPORT_PORT; sets `url`. */
  port?: number;
  labels?: Record<string, string>;
  name?: string;
  user?: string;
  /** `host:container[:ro]` bind mounts. */
  binds?: string[];
  /**
   * Mount an empty read-only folder over /sys/devices/system/cpu: onnxruntime's cpuinfo crashes
   * under qemu when it reads the host's (reference/arm64-under-qemu.md). Test harness only.
   */
  maskCpuInfo?: boolean;
  /** e.g. `linux/arm64` to pick that variant of a multi-platform tag. */
  platform?: string;
  docker?: Docker;
}

export interface ContainerOutput {
  stdout: string;
  stderr: string;
}

export interface RunningContainer {
  id: string;
  container: Docker.Container;
  /** `http://127.0.0.1:PORT` when `port` was given. */
  url: string | undefined;
  /** Everything written so far, split into stdout and stderr. */
  output(): Promise<ContainerOutput>;
  /**
   * Waits until `url` + `path` answers 2xx; on timeout the error carries the container's state and
   * output, which usually say why the server never came up.
   */
  waitForHttp(path: string, timeoutMs: number): Promise<HttpAnswer>;
  /** Waits for the process to end and returns its exit code. */
  wait(): Promise<number>;
  /** Kills and removes the container. */
  remove(): Promise<void>;
}

/** Creates and starts a container on the host network (the engine has no bridge). */
export async function runContainer(options: RunContainerOptions): Promise<RunningContainer> {
  const docker = options.docker ?? dockerClient();
  const env = {
    ...options.env,
    ...(options.port === undefined ? {} : { MODELPORT_PORT: String(options.port) }),
  };
  const container = await docker.createContainer({
    Image: options.image,
    Cmd: options.cmd,
    Entrypoint: options.entrypoint,
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    Labels: { [HARNESS_LABEL]: 'true', ...options.labels },
    User: options.user,
    name: options.name,
    ...(options.platform === undefined ? {} : { platform: options.platform }),
    HostConfig: {
      NetworkMode: 'host',
      Binds: options.binds,
      Mounts: options.maskCpuInfo
        ? [{ Type: 'tmpfs', Source: '', Target: '/sys/devices/system/cpu', ReadOnly: true }]
        : undefined,
    },
  });
  await container.start();
  const url = options.port === undefined ? undefined : `http://127.0.0.1:${options.port}`;
  const output = async () => demux(await container.logs({ stdout: true, stderr: true, follow: false }));
  return {
    id: container.id,
    container,
    url,
    output,
    waitForHttp: async (path, timeoutMs) => {
      if (url === undefined) throw new Error('runContainer was called without a port');
      const exited = async () =>
        (await container.inspect()).State.Running ? undefined : new Error('the container stopped');
      try {
        return await waitForHttp(`${url}${path}`, timeoutMs, undefined, exited);
      } catch (e) {
        const state = (await container.inspect()).State;
        const { stdout, stderr } = await output();
        throw new Error(
          `${messageOf(e)}\ncontainer ${state.Status} (exit ${state.ExitCode})\nstdout:\n${stdout}\nstderr:\n${stderr}`,
          { cause: e },
        );
      }
    },
    wait: async () => ((await container.wait()) as { StatusCode: number }).StatusCode,
    remove: () => container.remove({ force: true, v: true }).catch(ignoreGone),
  };
}

/** Runs a container to completion and returns its exit code and output; the container is removed. */
export async function runOnce(options: RunContainerOptions): Promise<ContainerOutput & { exitCode: number }> {
  const run = await runContainer(options);
  try {
    const exitCode = await run.wait();
    return { exitCode, ...(await run.output()) };
  } finally {
    await run.remove();
  }
}

/** Splits Docker's multiplexed log stream (8-byte frame headers: stream id, size) for non-TTY containers. */
export function demux(raw: Buffer): ContainerOutput {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const kind = raw[offset];
    const size = raw.readUInt32BE(offset + 4);
    const frame = raw.subarray(offset + 8, offset + 8 + size);
    (kind === 2 ? err : out).push(frame);
    offset += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
