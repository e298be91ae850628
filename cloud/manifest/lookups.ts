/**
 * What the manifest generator needs to know about the outside world, as a small synchronous interface:
 * registered models and the images `modelport package` built for them. `registryLookups` reads the
 * registry; `memoryLookups` serves fixed lists (unit tests, or a caller that resolved things itself).
 */
import { isModelportError } from '../../common/errors.js';
import type { PackagedImage, PackagedImages } from '../registry/packaged-images.js';
import type { ModelRegistry } from '../registry/registry.js';
import type { ModelRef } from '../registry/types.js';

/** A registered model version, as far as a manifest cares. */
export interface ModelFacts {
  name: string;
  version: number;
  /** `sha256:…` over the model's files (common/model-digest.ts). */
  digest: string;
  files: { path: string; sha256: string; size: number }[];
  /** The ONNX graph file inside the model, when the registry found one. */
  onnxFile?: string;
}

/** An image packaged for a set of model versions. */
export interface ImageFacts {
  image: string;
  platform: string;
  digest: string | null;
  models: { name: string; version: number; digest: string }[];
  createdAt: string;
}

export interface ManifestLookups {
  /** The model `ref` names (`latest` resolved), or why there is none (a sentence naming what exists). */
  model(ref: ModelRef): ModelFacts | { missing: string };
  /** Images packaged for exactly these model versions, newest first. */
  imagesForModels(models: readonly { name: string; version: number }[]): ImageFacts[];
  /** Every record of one image reference, newest first (to warn when it was built for other models). */
  imageRecords(image: string): ImageFacts[];
}

function toImageFacts(p: PackagedImage): ImageFacts {
  return { image: p.image, platform: p.platform, digest: p.digest, models: p.models, createdAt: p.createdAt };
}

/** Lookups backed by the model registry and its packaged-images table. */
export function registryLookups(registry: ModelRegistry, images: PackagedImages): ManifestLookups {
  return {
    model(ref) {
      try {
        const m = registry.get(ref);
        return {
          name: m.name,
          version: m.version,
          digest: m.digest,
          files: m.files,
          ...(m.onnx ? { onnxFile: m.onnx.file } : {}),
        };
      } catch (e) {
        if (isModelportError(e) && e.code === 'MODEL_NOT_FOUND') return { missing: e.message };
        throw e;
      }
    },
    imagesForModels: (models) => images.findForModels(models).map(toImageFacts),
    imageRecords: (image) => images.findByImage(image).map(toImageFacts),
  };
}

/** Lookups over fixed lists: models by name and version, images newest first as given. */
export function memoryLookups(data: { models?: ModelFacts[]; images?: ImageFacts[] }): ManifestLookups {
  const models = data.models ?? [];
  const images = data.images ?? [];
  const setKey = (list: readonly { name: string; version: number }[]) =>
    list
      .map((m) => `${m.name}:${m.version}`)
      .sort()
      .join(',');
  return {
    model(ref) {
      const versions = models.filter((m) => m.name === ref.name).sort((a, b) => a.version - b.version);
      const found =
        ref.version === 'latest' ? versions.at(-1) : versions.find((m) => m.version === ref.version);
      if (found) return found;
      return {
        missing:
          versions.length === 0
            ? `no model named '${ref.name}' is registered`
            : `model ${ref.name}:${ref.version} is not registered (versions: ${versions.map((v) => v.version).join(', ')})`,
      };
    },
    imagesForModels: (wanted) => images.filter((i) => setKey(i.models) === setKey(wanted)),
    imageRecords: (image) => images.filter((i) => i.image === image),
  };
}
