/**
 * The real effects of a rollout: the gate script, `modelport package` (build and push, recorded in
 * the registry's packaged images) and the manifest generator over the registry.
 */
import { ModelportError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { generateManifest, registryLookups } from '../manifest/index.js';
import { parseImageRef } from '../package/image-ref.js';
import { findModelportInstall } from '../package/modelport-root.js';
import { packageModels } from '../package/packager.js';
import { parsePlatform } from '../package/platform.js';
import { PackagedImages } from '../registry/packaged-images.js';
import { ModelRegistry } from '../registry/registry.js';
import { runGate } from './gate.js';
import type { RolloutEffects } from './rollout.js';

export interface EffectsContext {
  /** MODELPORT_HOME: the registry. */
  home: string;
  env: NodeJS.ProcessEnv;
  specPath: string;
  logger: Logger;
  signal?: AbortSignal;
}

export function localEffects(ctx: EffectsContext): RolloutEffects {
  return {
    gate: (gate, model) =>
      runGate(gate, model, {
        specPath: ctx.specPath,
        env: ctx.env,
        ...(ctx.signal && { signal: ctx.signal }),
      }),
    package: async (step) => {
      const result = await packageModels(
        {
          models: step.models.map((m) => ({ name: m.name, version: m.version })),
          image: parseImageRef(step.image, 'the rollout image'),
          platform: parsePlatform(step.platform),
          baseImage: step.baseImage,
          push: true,
          pull: false,
        },
        {
          home: ctx.home,
          env: ctx.env,
          install: findModelportInstall(),
          now: () => new Date(),
          observe: () => undefined,
          logger: ctx.logger,
          ...(ctx.signal && { signal: ctx.signal }),
        },
      );
      // A digest means the registry has it; the packager recorded it so the next plan skips this step.
      if (result.digest === null) {
        throw new ModelportError(
          'IMAGE_NOT_PUSHED',
          `${step.image} was built but the registry gave no digest`,
        );
      }
    },
    generate: async (rollout) => {
      const registry = ModelRegistry.open(ctx.home);
      const images = PackagedImages.open(ctx.home);
      try {
        return generateManifest(rollout.spec, registryLookups(registry, images), ctx.env);
      } finally {
        images.close();
        registry.close();
      }
    },
  };
}
