import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import { messageOf } from '../../../common/errors.js';
import { EngineHarnessError } from './errors.js';

/** Image labels that identify a test base image and the inputs it was built from. */
export const BASE_LABEL_RECIPE = 'modelport.test.base.recipe';
export const BASE_LABEL_INPUT_HASH = 'modelport.test.base.input-hash';

export interface RootfsImageOptions {
  rootfsTar: string;
  tag: string;
  /** `linux/amd64` or `linux/arm64`: recorded as the image's architecture. */
  platform: string;
  labels: Record<string, string>;
  env: Record<string, string>;
  cmd: readonly string[];
}

/**
 * Builds `FROM scratch` + `ADD rootfs.tar /` with the classic builder. A Dockerfile build (not
 * `docker import`) is what records `--platform` as the image architecture on Docker 20.10. ADD comes
 * first: metadata steps on `scratch` are committed as amd64 and an arm64 ADD then refuses them.
 */
export async function buildImageFromRootfs(docker: Docker, options: RootfsImageOptions): Promise<string> {
  const env = Object.entries(options.env).map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  const dockerfile = [
    'FROM scratch',
    'ADD rootfs.tar /',
    ...(env.length > 0 ? [`ENV ${env.join(' ')}`] : []),
    `CMD ${JSON.stringify(options.cmd)}`,
    '',
  ].join('\n');
  const { size } = await stat(options.rootfsTar);
  const context = tar.pack();
  context.entry({ name: 'Dockerfile', mode: 0o644 }, dockerfile);
  const rootfsEntry = context.entry({ name: 'rootfs.tar', mode: 0o644, size }, (err) => {
    if (err) context.destroy(err);
    else context.finalize();
  });
  pipeline(createReadStream(options.rootfsTar), rootfsEntry).catch((e: unknown) =>
    context.destroy(e as Error),
  );

  let output: unknown[] = [];
  try {
    // tar-stream's packs are streamx streams; wrap for dockerode's Node stream type.
    const stream = await docker.buildImage(Readable.from(context), {
      t: options.tag,
      platform: options.platform,
      labels: options.labels,
      rm: true,
      forcerm: true,
      // The classic builder's cache does not key on the platform (an arm64 build once reused amd64
      // steps and failed); base builds are rare anyway, gated by the input hash.
      nocache: true,
    });
    output = await new Promise<unknown[]>((resolve, reject) => {
      docker.modem.followProgress(stream, (err, res) => (err ? reject(err) : resolve(res)));
    });
  } catch (e) {
    throw buildFailed(options.tag, messageOf(e), output, e);
  }
  const failure = output.find((event) => typeof (event as { error?: unknown }).error === 'string') as
    | { error: string }
    | undefined;
  if (failure !== undefined) throw buildFailed(options.tag, failure.error, output);
  const image = await docker.getImage(options.tag).inspect();
  const wantArch = options.platform.split('/')[1];
  if (image.Architecture !== wantArch) {
    throw buildFailed(options.tag, `built for ${image.Architecture}, not ${wantArch}`, output);
  }
  return image.Id;
}

function buildFailed(tag: string, reason: string, output: unknown[], cause?: unknown): EngineHarnessError {
  const tail = output
    .map((event) => (event as { stream?: string }).stream ?? '')
    .join('')
    .trimEnd()
    .split('\n')
    .slice(-15)
    .join('\n');
  return new EngineHarnessError('BASE_IMAGE_BUILD_FAILED', `building ${tag} failed: ${reason}\n${tail}`, {
    cause,
  });
}

export interface ExistingImage {
  id: string;
  sizeBytes: number;
}

/** The image under `tag` if its input-hash label equals `inputHash`, else undefined. */
export async function findImageWithHash(
  docker: Docker,
  tag: string,
  inputHash: string,
): Promise<ExistingImage | undefined> {
  try {
    const image = await docker.getImage(tag).inspect();
    if (image.Config?.Labels?.[BASE_LABEL_INPUT_HASH] !== inputHash) return undefined;
    return { id: image.Id, sizeBytes: image.Size };
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return undefined;
    throw e;
  }
}
