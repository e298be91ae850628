/**
 * Image pulls: credentials from the deployment's `registryCredentials` (matched by registry address),
 * a few quick retries with back-off for transient failures, progress in the log. When the registry
 * cannot be reached but the image is already on the device, the local image is used: a gateway
 * without network must still be able to recreate or roll back a module whose image it holds
 * (IoT Edge would fail the create; this is the one place modelport is more lenient).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ModelportError } from '../../common/errors.js';
import type { RegistryCredential } from '../../manifests/index.js';
import type { DockerAdapter, PullEvent, RegistryAuth } from './docker-adapter.js';
import { engineMessage, isDockerError } from './errors.js';
import type { RuntimeEvents } from './events.js';

export interface PullSettings {
  /** Attempts within one pull step (the planner retries the step itself later, with its own back-off). */
  attempts: number;
  retryBaseMs: number;
  /** Log progress at most this often per image. */
  progressIntervalMs: number;
}

export const DEFAULT_PULL_SETTINGS: PullSettings = {
  attempts: 3,
  retryBaseMs: 1_000,
  progressIntervalMs: 5_000,
};

/** The registry host of an image reference: `myacr.azurecr.io/a/b:1` → `myacr.azurecr.io`; `node:20` → `docker.io`. */
export function registryOf(ref: string): string {
  const slash = ref.indexOf('/');
  if (slash < 0) return 'docker.io';
  const first = ref.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : 'docker.io';
}

const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

function normalizeAddress(address: string): string {
  const host = address
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
  return DOCKER_HUB.has(host) ? 'docker.io' : host;
}

/** The credential whose address is the image's registry, as Docker's `authconfig`. */
export function authFor(
  ref: string,
  credentials: Readonly<Record<string, RegistryCredential>>,
): RegistryAuth | undefined {
  const registry = normalizeAddress(registryOf(ref));
  const match = Object.values(credentials).find((c) => normalizeAddress(c.address) === registry);
  return match && { username: match.username, password: match.password, serveraddress: match.address };
}

/** Errors a retry cannot fix: the image does not exist, or the credentials are refused. */
function isPermanent(e: unknown): boolean {
  const message = engineMessage(e).toLowerCase();
  return (
    (isDockerError(e) && e.statusCode === 404) ||
    /manifest unknown|not found|unauthorized|denied|authentication required|invalid reference/.test(message)
  );
}

export class ImagePuller {
  constructor(
    private readonly docker: DockerAdapter,
    private readonly events: RuntimeEvents,
    private readonly settings: PullSettings = DEFAULT_PULL_SETTINGS,
  ) {}

  /** Pulls `ref`; resolves `local` when the pull failed but the image is on the device. */
  async pull(
    ref: string,
    credentials: Readonly<Record<string, RegistryCredential>>,
    signal?: AbortSignal,
  ): Promise<'pulled' | 'local'> {
    const auth = authFor(ref, credentials);
    // With the image already here the pull only refreshes the tag: one attempt, then the local image.
    const attempts = (await this.docker.hasImage(ref)) ? 1 : this.settings.attempts;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const started = Date.now();
      try {
        this.events.pullStarted(ref, attempt, auth?.serveraddress);
        await this.docker.pull(ref, auth, this.progressLogger(ref));
        this.events.pullFinished(ref, Date.now() - started);
        return 'pulled';
      } catch (e) {
        lastError = e;
        if (isPermanent(e) || attempt === attempts || signal?.aborted) break;
        const retryInMs = this.settings.retryBaseMs * 2 ** (attempt - 1);
        this.events.pullRetry(ref, attempt, e, retryInMs);
        await sleep(retryInMs, undefined, signal ? { signal } : {}).catch(() => undefined);
      }
    }
    if (await this.docker.hasImage(ref)) {
      this.events.pullFellBackToLocal(ref, lastError);
      return 'local';
    }
    throw new ModelportError('IMAGE_PULL_FAILED', `cannot pull image ${ref}: ${engineMessage(lastError)}`, {
      hint: auth
        ? `check the registry address and the credentials for ${auth.serveraddress} in registryCredentials`
        : 'check the image name, and add registryCredentials to the deployment if the registry is private',
      cause: lastError,
    });
  }

  private progressLogger(ref: string): (e: PullEvent) => void {
    let lastLog = 0;
    const layers = new Map<string, { current: number; total: number }>();
    return (e) => {
      if (e.id && e.progressDetail?.total) {
        layers.set(e.id, { current: e.progressDetail.current ?? 0, total: e.progressDetail.total });
      }
      const now = Date.now();
      if (now - lastLog < this.settings.progressIntervalMs) return;
      lastLog = now;
      let current = 0;
      let total = 0;
      for (const l of layers.values()) {
        current += l.current;
        total += l.total;
      }
      this.events.pullProgress(ref, e.status ?? '', current, total);
    };
  }
}
