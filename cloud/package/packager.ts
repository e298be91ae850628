import { resolve } from 'node:path';
import type Docker from 'dockerode';
import { isModelportError, messageOf, NotFoundError, UsageError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { PackagedImages } from '../registry/packaged-images.js';
import { ModelRegistry } from '../registry/registry.js';
import type { ModelRecord, ModelRef } from '../registry/types.js';
import { assembleContext, type BuildContext, type ContextSummary } from './build-context.js';
import { writeContextDir } from './context-io.js';
import { dockerLoginCredentials } from './docker-config.js';
import { type DockerEngine, dockerEngineFromEnv, requireEngine } from './docker-engine.js';
import { imageEnv, imageLabels } from './dockerfile.js';
import {
  buildFromContext,
  inspectImage,
  pullImage,
  pushImage,
  type RegistryCredentials,
} from './engine-ops.js';
import { type PackageEvents, packageEvents } from './events.js';
import { type ImageRef, parseImageRef } from './image-ref.js';
import { type ModelportInstall, requireCompiledScoring, staleSources } from './modelport-root.js';
import type { PlatformFacts } from './platform.js';
import type { PackageObserver } from './progress.js';
import { redact } from './redact.js';

export interface PackageRequest {
  models: readonly ModelRef[];
  image: ImageRef;
  platform: PlatformFacts;
  baseImage: string;
  entryScript?: string;
  push: boolean;
  /** Pull the base image when the engine does not have it (never done unasked). */
  pull: boolean;
  /** Write the context here instead of building. */
  outputDir?: string;
  credentials?: RegistryCredentials;
}

export interface PackageDeps {
  /** MODELPORT_HOME: the registry. */
  home: string;
  env: NodeJS.ProcessEnv;
  install: ModelportInstall;
  now: () => Date;
  observe: PackageObserver;
  logger: Logger;
  signal?: AbortSignal;
}

export interface PackagedModelInfo {
  name: string;
  version: number;
  digest: string;
}

export interface PackageResult {
  image: string;
  platform: string;
  baseImage: string;
  models: PackagedModelInfo[];
  /** The model-specific environment the image sets (AZUREML_MODEL_DIR, MODELPORT_MODELS, …). */
  env: Record<string, string>;
  labels: Record<string, string>;
  context: Pick<ContextSummary, 'files' | 'bytes' | 'parts' | 'pruned'>;
  /** Set when the context was written instead of built. */
  outputDir?: string;
  /** Set when an image was built. */
  imageId?: string;
  sizeBytes?: number;
  pushed: boolean;
  /** Where the push credentials came from: --registry-* flags, `docker login`, or none. */
  pushAuth: 'flags' | 'docker-config' | 'anonymous' | null;
  /** Registry manifest digest after a push. */
  digest: string | null;
  /** `name@digest` after a push. */
  repoDigest: string | null;
  warnings: string[];
}

/**
 * `modelport package`: registered models → a module image (or its build context on disk). On any
 * failure the requested tag is left as it was, locally and in the registry.
 */
export async function packageModels(request: PackageRequest, deps: PackageDeps): Promise<PackageResult> {
  // Every password used (flags or docker login), for redaction.
  const secrets: string[] = request.credentials ? [request.credentials.password] : [];
  const auth: CredentialSource = (ref) => {
    const found =
      request.credentials && ref.registry === request.image.registry
        ? { credentials: request.credentials, source: 'flags' as const }
        : credentialsFromLogin(deps.env, ref);
    if (found.credentials) secrets.push(found.credentials.password);
    return found;
  };
  try {
    return await run(request, deps, auth);
  } catch (e) {
    // Last line of defence: no message leaves with a registry password in it.
    if (e instanceof Error && secrets.length > 0) {
      e.message = redact(e.message, secrets);
      if (isModelportError(e) && e.hint) (e as { hint: string }).hint = redact(e.hint, secrets);
    }
    throw e;
  }
}

/** The credentials to use with one registry, and where they came from. */
type CredentialSource = (ref: ImageRef) => {
  credentials: RegistryCredentials | undefined;
  source: 'flags' | 'docker-config' | 'anonymous';
};

function credentialsFromLogin(env: NodeJS.ProcessEnv, ref: ImageRef): ReturnType<CredentialSource> {
  const credentials = dockerLoginCredentials(env, ref);
  return credentials
    ? { credentials, source: 'docker-config' }
    : { credentials: undefined, source: 'anonymous' };
}

async function run(
  request: PackageRequest,
  deps: PackageDeps,
  auth: CredentialSource,
): Promise<PackageResult> {
  const events = packageEvents(deps.logger);
  const warnings: string[] = [];
  requireCompiledScoring(deps.install);
  const stale = await staleSources(deps.install);
  if (stale.length > 0) {
    warnings.push(
      `dist/ is older than ${stale.length} source file(s) (${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', …' : ''}): run \`npm run build\` to package the current code`,
    );
  }
  if (request.credentials && !request.push && !request.pull) {
    warnings.push('registry credentials are used only with --push or --pull; they were not used');
  }

  const registry = ModelRegistry.open(deps.home);
  try {
    const models = resolveModels(registry, request.models);
    let engine: DockerEngine | undefined;
    if (request.outputDir === undefined) {
      engine = dockerEngineFromEnv(deps.env);
      deps.observe({
        kind: 'phase',
        phase: 'check',
        message: `Checking the Docker engine (${engine.describe})`,
      });
      await requireEngine(engine);
      await ensureBaseImage(engine, request, deps, events, auth);
    }

    deps.observe({ kind: 'phase', phase: 'context', message: 'Assembling the build context' });
    const started = Date.now();
    const context = await assembleContext({
      install: deps.install,
      registry,
      models,
      image: request.image,
      platform: request.platform,
      baseImage: request.baseImage,
      entryScript: request.entryScript,
      created: deps.now(),
    });
    events.contextAssembled(context.summary, Date.now() - started);
    for (const s of context.summary.skippedOptional)
      events.optionalDependencySkipped(s.name, s.reason, s.requiredBy);
    const base = baseResult(request, context, warnings);

    if (request.outputDir !== undefined) {
      const dir = resolve(request.outputDir);
      await writeContextDir(context.entries, dir);
      return { ...base, outputDir: dir };
    }
    return await buildTagPush(engine!.docker, request, context, deps, events, base, auth);
  } finally {
    registry.close();
  }
}

function resolveModels(registry: ModelRegistry, refs: readonly ModelRef[]): ModelRecord[] {
  if (refs.length === 0) throw new UsageError('NO_MODELS', 'give at least one --model NAME:VERSION');
  const models = refs.map((ref) => registry.get(ref));
  const names = new Set<string>();
  for (const m of models) {
    if (names.has(m.name)) {
      throw new UsageError(
        'MODEL_DUPLICATE',
        `model ${m.name} is given twice: an image serves one version per name`,
      );
    }
    names.add(m.name);
  }
  return models;
}

async function ensureBaseImage(
  engine: DockerEngine,
  request: PackageRequest,
  deps: PackageDeps,
  events: PackageEvents,
  auth: CredentialSource,
): Promise<void> {
  let base = await inspectImage(engine.docker, request.baseImage);
  if (base === undefined && request.pull) {
    deps.observe({ kind: 'phase', phase: 'pull', message: `Pulling the base image ${request.baseImage}` });
    const started = Date.now();
    const ref = parseImageRef(request.baseImage, '--base-image', true);
    // The --registry-* credentials go to the --image registry only; others get docker login's, if any.
    const { credentials } = auth(ref);
    await pullImage(engine.docker, ref, request.platform, credentials, deps.observe, deps.signal);
    events.baseImagePulled(request.baseImage, Date.now() - started);
    base = await inspectImage(engine.docker, request.baseImage);
  }
  if (base === undefined) {
    throw new NotFoundError(
      'BASE_IMAGE_NOT_FOUND',
      `the base image ${request.baseImage} is not in the Docker engine at ${engine.describe}`,
      {
        hint: `pull it first (docker pull --platform ${request.platform.platform} ${request.baseImage}), add --pull to let modelport pull it, or name a local image with --base-image IMAGE`,
      },
    );
  }
  if (base.Architecture !== request.platform.dockerArch || (base.Os && base.Os !== 'linux')) {
    throw new UsageError(
      'BASE_IMAGE_PLATFORM_MISMATCH',
      `the base image ${request.baseImage} is ${base.Os}/${base.Architecture}, but the image is for ${request.platform.platform}`,
      {
        hint: `give a ${request.platform.platform} base with --base-image (for a multi-platform image: docker pull --platform ${request.platform.platform} IMAGE)`,
      },
    );
  }
}

function baseResult(request: PackageRequest, context: BuildContext, warnings: string[]): PackageResult {
  return {
    image: request.image.reference,
    platform: request.platform.platform,
    baseImage: request.baseImage,
    models: context.spec.models.map((m) => ({ name: m.name, version: m.version, digest: m.digest })),
    env: imageEnv(context.spec),
    labels: imageLabels(context.spec),
    context: {
      files: context.summary.files,
      bytes: context.summary.bytes,
      parts: context.summary.parts,
      pruned: context.summary.pruned,
    },
    pushed: false,
    pushAuth: null,
    digest: null,
    repoDigest: null,
    warnings,
  };
}

async function buildTagPush(
  docker: Docker,
  request: PackageRequest,
  context: BuildContext,
  deps: PackageDeps,
  events: PackageEvents,
  base: PackageResult,
  auth: CredentialSource,
): Promise<PackageResult> {
  const ref = request.image;
  deps.observe({
    kind: 'phase',
    phase: 'build',
    message: `Building ${ref.reference} for ${request.platform.platform}`,
  });
  let started = Date.now();
  const imageId = await buildFromContext(
    docker,
    context.entries,
    {
      platform: request.platform,
      baseImage: request.baseImage,
      ...(deps.signal ? { signal: deps.signal } : {}),
    },
    deps.observe,
  );
  events.imageBuilt(imageId, Date.now() - started);

  const previousId = (await inspectImage(docker, ref.reference))?.Id;
  deps.observe({ kind: 'phase', phase: 'tag', message: `Tagging ${ref.reference}` });
  await docker.getImage(imageId).tag({ repo: ref.name, tag: ref.tag });
  let digest: string | null = null;
  let pushAuth: PackageResult['pushAuth'] = null;
  if (request.push) {
    const { credentials, source } = auth(ref);
    pushAuth = source;
    deps.observe({ kind: 'phase', phase: 'push', message: `Pushing ${ref.reference}` });
    started = Date.now();
    try {
      digest = await pushImage(docker, ref, credentials, deps.observe, deps.signal);
    } catch (e) {
      await restoreTag(docker, ref, imageId, previousId, events);
      throw e;
    }
    events.imagePushed(ref.reference, digest, Date.now() - started);
  }
  const built = await docker.getImage(imageId).inspect();
  deps.observe({ kind: 'phase', phase: 'record', message: 'Recording the image in the registry' });
  try {
    const packaged = PackagedImages.open(deps.home, { now: deps.now });
    try {
      packaged.record({
        image: ref.reference,
        digest,
        platform: request.platform.platform,
        models: base.models,
      });
    } finally {
      packaged.close();
    }
  } catch (e) {
    // The image exists (and is pushed); a failed bookkeeping write must not hide that.
    events.recordFailed(ref.reference, e);
    base.warnings.push(`the image was built but not recorded in the registry: ${messageOf(e)}`);
  }
  return {
    ...base,
    imageId,
    sizeBytes: built.Size,
    pushed: request.push,
    pushAuth,
    digest,
    repoDigest: digest === null ? null : `${ref.name}@${digest}`,
  };
}

/** After a failed push: the requested tag points where it pointed before (or nowhere). */
async function restoreTag(
  docker: Docker,
  ref: ImageRef,
  imageId: string,
  previousId: string | undefined,
  events: PackageEvents,
): Promise<void> {
  try {
    if (previousId === imageId) return;
    if (previousId !== undefined) {
      await docker.getImage(previousId).tag({ repo: ref.name, tag: ref.tag });
      // The new image would be left without a name: remove it. `noprune` keeps its parent layers: they
      // are the build cache, and another build on this engine may be using them at this very moment
      // (pruning them fails that build with "No such image").
      await docker.getImage(imageId).remove({ noprune: true });
    } else {
      await docker.getImage(ref.reference).remove({ noprune: true });
    }
    events.tagRestored(ref.reference, previousId);
  } catch (e) {
    events.cleanupFailed(ref.reference, e);
  }
}
