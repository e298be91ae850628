import type { Logger } from '../../common/logger.js';
import type { ContextSummary } from './build-context.js';

/** Named log calls of packaging (logic never builds log strings). */
export function packageEvents(logger: Logger) {
  const log = logger.child({ component: 'package' });
  return {
    contextAssembled: (summary: ContextSummary, ms: number) =>
      log.info(
        { files: summary.files, bytes: summary.bytes, parts: summary.parts, pruned: summary.pruned, ms },
        'build context assembled',
      ),
    optionalDependencySkipped: (name: string, reason: string, requiredBy: string) =>
      log.debug({ name, reason, requiredBy }, 'optional dependency left out'),
    baseImagePulled: (image: string, ms: number) => log.info({ image, ms }, 'base image pulled'),
    imageBuilt: (imageId: string, ms: number) => log.info({ imageId, ms }, 'image built'),
    imagePushed: (image: string, digest: string, ms: number) =>
      log.info({ image, digest, ms }, 'image pushed'),
    tagRestored: (image: string, previousId: string | undefined) =>
      log.info({ image, previousId }, 'requested tag restored after a failure'),
    cleanupFailed: (image: string, err: unknown) =>
      log.warn({ image, err }, 'could not restore the requested tag after a failure'),
    recordFailed: (image: string, err: unknown) =>
      log.warn({ image, err }, 'could not record the packaged image'),
  };
}

export type PackageEvents = ReturnType<typeof packageEvents>;
