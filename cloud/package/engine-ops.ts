import type Docker from 'dockerode';
import { ModelportError, messageOf, NotFoundError, UnavailableError } from '../../common/errors.js';
import type { ContextEntry } from './build-context.js';
import { packContext } from './context-io.js';
import {
  BuildStreamParser,
  classifyTransferError,
  type EngineMessage,
  TransferStreamParser,
} from './engine-streams.js';
import { authServerAddress, type ImageRef, registryLabel } from './image-ref.js';
import type { PlatformFacts } from './platform.js';
import type { PackageObserver } from './progress.js';
import { redact } from './redact.js';

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** Reads an engine JSON stream to its end, handing each message to `onMessage`. */
export function followStream(
  docker: Docker,
  stream: NodeJS.ReadableStream,
  onMessage: (m: EngineMessage) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve()),
      (m: EngineMessage) => onMessage(m),
    );
  });
}

/** The image's inspect data, or undefined when the engine has no image by that name. */
export async function inspectImage(
  docker: Docker,
  name: string,
): Promise<Docker.ImageInspectInfo | undefined> {
  try {
    return await docker.getImage(name).inspect();
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return undefined;
    throw e;
  }
}

export interface BuildOptions {
  platform: PlatformFacts;
  baseImage: string;
  signal?: AbortSignal;
}

/**
 * Builds the context with the engine (classic builder, context streamed as a tar) and returns the new
 * image's id. The image gets no name here: the caller tags it only once everything succeeded.
 */
export async function buildFromContext(
  docker: Docker,
  entries: readonly ContextEntry[],
  options: BuildOptions,
  observe: PackageObserver,
): Promise<string> {
  const context = packContext(entries);
  let contextError: Error | undefined;
  context.on('error', (e: Error) => {
    contextError = e;
  });
  const parser = new BuildStreamParser(observe);
  try {
    const stream = await docker.buildImage(context, {
      buildargs: { BASE_IMAGE: options.baseImage },
      platform: options.platform.platform,
      rm: true,
      forcerm: true,
      ...(options.signal ? { abortSignal: options.signal } : {}),
    });
    await followStream(docker, stream, (m) => parser.push(m));
  } catch (e) {
    if (contextError) throw contextFailure(contextError);
    throw new ModelportError('BUILD_FAILED', `the Docker engine stopped the build: ${messageOf(e)}`, {
      cause: e,
    });
  }
  parser.end();
  if (contextError) throw contextFailure(contextError);
  if (parser.failure) {
    const { step, output, message } = parser.failure;
    const where = step ? ` at step ${step.number}/${step.total} (${step.instruction})` : '';
    const shown = output.filter((l) => !l.startsWith(' ---> '));
    throw new ModelportError(
      'BUILD_FAILED',
      `the image build failed${where}: ${message}${shown.length > 0 ? `\noutput of the step:\n${shown.map((l) => `  | ${l}`).join('\n')}` : ''}`,
      {
        hint: 'nothing was tagged or pushed; fix the cause above and run the command again',
        details: { step, output },
      },
    );
  }
  if (parser.imageId === undefined) {
    throw new ModelportError('BUILD_FAILED', 'the Docker engine finished the build without naming an image');
  }
  return parser.imageId;
}

function contextFailure(e: Error): ModelportError {
  return new ModelportError(
    'CONTEXT_READ_FAILED',
    `could not read a file of the build context: ${e.message}`,
    {
      hint: 'a model blob or an installed package changed or vanished while building; run the command again',
      cause: e,
    },
  );
}

/**
 * authconfig for the engine. Anonymous access still sends one (without credentials): dockerd 20.10
 * otherwise reads the request body as credentials and refuses an empty one.
 */
export function authConfig(ref: ImageRef, credentials: RegistryCredentials | undefined) {
  if (credentials === undefined) return { serveraddress: authServerAddress(ref) };
  return {
    username: credentials.username,
    password: credentials.password,
    serveraddress: authServerAddress(ref),
  };
}

/** Pushes `ref` (already tagged locally) and returns the manifest digest the registry stored. */
export async function pushImage(
  docker: Docker,
  ref: ImageRef,
  credentials: RegistryCredentials | undefined,
  observe: PackageObserver,
  signal?: AbortSignal,
): Promise<string> {
  const secrets = credentials ? [credentials.password] : [];
  const parser = new TransferStreamParser('push', observe);
  try {
    const stream = await docker.getImage(ref.name).push({
      tag: ref.tag,
      authconfig: authConfig(ref, credentials),
      ...(signal ? { abortSignal: signal } : {}),
    });
    await followStream(docker, stream, (m) => parser.push(m));
  } catch (e) {
    throw transferError('push', ref, redact(messageOf(e), secrets), credentials !== undefined, e);
  }
  if (parser.error !== undefined) {
    throw transferError('push', ref, redact(parser.error, secrets), credentials !== undefined);
  }
  if (parser.digest === undefined) {
    throw new ModelportError(
      'PUSH_FAILED',
      `the push of ${ref.reference} ended without a digest from the registry`,
    );
  }
  return parser.digest;
}

/** Pulls an image for the platform (the base image, when the user asked with --pull). */
export async function pullImage(
  docker: Docker,
  ref: ImageRef,
  platform: PlatformFacts,
  credentials: RegistryCredentials | undefined,
  observe: PackageObserver,
  signal?: AbortSignal,
): Promise<void> {
  const secrets = credentials ? [credentials.password] : [];
  const parser = new TransferStreamParser('pull', observe);
  try {
    const stream = await docker.pull(ref.reference, {
      platform: platform.platform,
      authconfig: authConfig(ref, credentials),
      ...(signal ? { abortSignal: signal } : {}),
    });
    await followStream(docker, stream, (m) => parser.push(m));
  } catch (e) {
    throw transferError('pull', ref, redact(messageOf(e), secrets), credentials !== undefined, e);
  }
  if (parser.error !== undefined) {
    throw transferError('pull', ref, redact(parser.error, secrets), credentials !== undefined);
  }
}

function transferError(
  direction: 'push' | 'pull',
  ref: ImageRef,
  reason: string,
  withCredentials: boolean,
  cause?: unknown,
): ModelportError {
  const registry = registryLabel(ref);
  const options = cause === undefined ? {} : { cause };
  switch (classifyTransferError(reason)) {
    case 'auth':
      return new UnavailableError(
        'REGISTRY_AUTH_FAILED',
        `the registry ${registry} refused to ${direction} ${ref.reference}: ${reason}`,
        {
          ...options,
          hint: withCredentials
            ? 'check --registry-username and the password in the --registry-password-env variable'
            : 'this registry needs credentials: pass --registry-username and --registry-password-env VAR',
        },
      );
    case 'unreachable':
      return new UnavailableError(
        'REGISTRY_UNREACHABLE',
        `the registry ${registry} is not reachable to ${direction} ${ref.reference}: ${reason}`,
        {
          ...options,
          hint: `check the registry address in the image name and that ${registry} is running; the Docker engine (not this CLI) connects to it`,
        },
      );
    case 'not-found':
      if (direction === 'pull') {
        return new NotFoundError(
          'BASE_IMAGE_NOT_FOUND',
          `the base image ${ref.reference} is not in ${registry}: ${reason}`,
          {
            ...options,
            hint: 'choose an existing image with --base-image IMAGE',
          },
        );
      }
      return new ModelportError(
        'PUSH_FAILED',
        `the push of ${ref.reference} to ${registry} failed: ${reason}`,
        options,
      );
    case 'other':
      return new ModelportError(
        direction === 'push' ? 'PUSH_FAILED' : 'PULL_FAILED',
        `the ${direction} of ${ref.reference} (${registry}) failed: ${reason}`,
        options,
      );
  }
}
