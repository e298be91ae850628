/**
 * The only code that talks to the Docker Engine (dockerode). One method per engine call, errors
 * wrapped with the operation and subject; no decisions here.
 */
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import { normalizeImageRef } from '../reconcile/spec.js';
import { dockerFailure, statusCodeOf } from './errors.js';
import { managedFilter } from './labels.js';

export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

export interface PullEvent {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  /** With `timestamps`, the RFC 3339 time Docker prefixed, else ''. */
  time: string;
  text: string;
}

export interface LogQuery {
  tail?: number;
  /** Unix seconds. */
  since?: number;
  until?: number;
  timestamps?: boolean;
}

export interface EngineEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

export class DockerAdapter {
  constructor(readonly docker: Docker = new Docker()) {}

  /** Containers with this agent's labels (running or not). */
  async listManaged(agentId: string): Promise<Docker.ContainerInfo[]> {
    try {
      return await this.docker.listContainers({ all: true, filters: { label: managedFilter(agentId) } });
    } catch (e) {
      throw dockerFailure('list', 'containers', e);
    }
  }

  /** Inspects a container; undefined when it went away between list and inspect (404). */
  async inspect(id: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await this.docker.getContainer(id).inspect();
    } catch (e) {
      if (statusCodeOf(e) === 404) return undefined;
      throw dockerFailure('inspect', id.slice(0, 12), e);
    }
  }

  /** Every local image reference (tags and digests), normalized. */
  async imageRefs(): Promise<Set<string>> {
    let images: Docker.ImageInfo[];
    try {
      images = await this.docker.listImages();
    } catch (e) {
      throw dockerFailure('list', 'images', e);
    }
    const refs = new Set<string>();
    for (const image of images) {
      for (const ref of [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])]) {
        if (ref !== '<none>:<none>' && ref !== '<none>@<none>') refs.add(normalizeImageRef(ref));
      }
    }
    return refs;
  }

  async hasImage(ref: string): Promise<boolean> {
    try {
      await this.docker.getImage(ref).inspect();
      return true;
    } catch (e) {
      if (statusCodeOf(e) === 404) return false;
      throw dockerFailure('inspect image', ref, e);
    }
  }

  /** Pulls `ref`, passing each progress event on; fails on the engine's first error event. */
  async pull(ref: string, auth: RegistryAuth | undefined, onEvent: (e: PullEvent) => void): Promise<void> {
    try {
      const stream = await this.docker.pull(ref, auth ? { authconfig: auth } : {});
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(
          stream,
          (err: Error | null, output: PullEvent[]) => {
            const failed = output?.find((event) => typeof event.error === 'string');
            if (err) reject(err);
            else if (failed) reject(new Error(failed.error));
            else resolve();
          },
          onEvent,
        );
      });
    } catch (e) {
      throw dockerFailure('pull', ref, e);
    }
  }

  async create(body: Docker.ContainerCreateOptions): Promise<string> {
    try {
      return (await this.docker.createContainer(body)).id;
    } catch (e) {
      throw dockerFailure('create', `'${body.name}'`, e);
    }
  }

  async start(ref: string): Promise<void> {
    try {
      await this.docker.getContainer(ref).start();
    } catch (e) {
      // 304: already running, which is what was asked.
      if (statusCodeOf(e) !== 304) throw dockerFailure('start', ref.slice(0, 12), e);
    }
  }

  async stop(id: string, timeoutSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: timeoutSeconds });
    } catch (e) {
      // 304: already stopped; 404: already gone. Either way it is not running.
      const status = statusCodeOf(e);
      if (status !== 304 && status !== 404) throw dockerFailure('stop', id.slice(0, 12), e);
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (e) {
      if (statusCodeOf(e) !== 404) throw dockerFailure('remove', id.slice(0, 12), e);
    }
  }

  async restart(id: string, timeoutSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(id).restart({ t: timeoutSeconds });
    } catch (e) {
      throw dockerFailure('restart', id.slice(0, 12), e);
    }
  }

  /** A container's log lines (stdout and stderr), oldest first. */
  async logs(id: string, query: LogQuery, tty: boolean): Promise<LogLine[]> {
    let raw: Buffer;
    try {
      raw = (await this.docker.getContainer(id).logs({
        stdout: true,
        stderr: true,
        follow: false,
        timestamps: query.timestamps ?? false,
        ...(query.tail !== undefined && { tail: query.tail }),
        ...(query.since !== undefined && { since: query.since }),
        ...(query.until !== undefined && { until: query.until }),
      })) as unknown as Buffer;
    } catch (e) {
      throw dockerFailure('logs', id.slice(0, 12), e);
    }
    const chunks = tty ? [{ stream: 'stdout' as const, text: raw.toString('utf8') }] : demux(raw);
    const lines: LogLine[] = [];
    for (const chunk of chunks) {
      for (const line of chunk.text.split('\n')) {
        if (line === '') continue;
        const [time, text] = query.timestamps ? splitTimestamp(line) : ['', line];
        lines.push({ stream: chunk.stream, time, text: text.replace(/\r$/, '') });
      }
    }
    return lines;
  }

  /** Container events of this agent's containers, until `signal` aborts or the stream ends. */
  async events(agentId: string, signal: AbortSignal, onEvent: (e: EngineEvent) => void): Promise<void> {
    let stream: Readable;
    try {
      stream = (await this.docker.getEvents({
        filters: { type: ['container'], label: managedFilter(agentId) },
      })) as Readable;
    } catch (e) {
      throw dockerFailure('events', 'stream', e);
    }
    await new Promise<void>((resolve) => {
      const stop = () => {
        stream.destroy();
        resolve();
      };
      signal.addEventListener('abort', stop, { once: true });
      let buffer = '';
      stream.on('data', (data: Buffer) => {
        buffer += data.toString('utf8');
        let nl = buffer.indexOf('\n');
        while (nl >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line) onEvent(parseEvent(line));
          nl = buffer.indexOf('\n');
        }
      });
      stream.on('error', stop);
      stream.on('end', stop);
      stream.on('close', stop);
    });
  }

  async version(): Promise<string> {
    try {
      return (await this.docker.version()).Version;
    } catch (e) {
      throw dockerFailure('version', 'query', e);
    }
  }
}

function parseEvent(line: string): EngineEvent {
  try {
    return JSON.parse(line) as EngineEvent;
  } catch {
    // Not JSON: still an event worth waking the loop for.
    return {};
  }
}

function splitTimestamp(line: string): [string, string] {
  const space = line.indexOf(' ');
  return space > 0 ? [line.slice(0, space), line.slice(space + 1)] : ['', line];
}

/** Docker's multiplexed log stream: 8-byte headers (stream id, size) for containers without a TTY. */
export function demux(raw: Buffer): { stream: 'stdout' | 'stderr'; text: string }[] {
  const out: { stream: 'stdout' | 'stderr'; text: string }[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const kind = raw[offset];
    const size = raw.readUInt32BE(offset + 4);
    const stream = kind === 2 ? 'stderr' : 'stdout';
    const text = raw.subarray(offset + 8, offset + 8 + size).toString('utf8');
    const last = out[out.length - 1];
    // Consecutive frames of one stream are one text: a line may be split across frames.
    if (last?.stream === stream) last.text += text;
    else out.push({ stream, text });
    offset += 8 + size;
  }
  return out;
}
