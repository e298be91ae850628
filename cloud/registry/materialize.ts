import { copyFile, link, mkdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isENOENT } from '../../common/errors.js';
import type { ModelRegistry } from './registry.js';
import type { ModelRecord } from './types.js';

export interface MaterializedModel {
  model: ModelRecord;
  /** `<root>/<name>/<version>`: the model's folder, as AZUREML_MODEL_DIR names it for one model. */
  dir: string;
}

/**
 * Lays model files out as Azure ML does (`<root>/<name>/<version>/<files>`), hard-linked from the blob
 * store when the file system allows (no copy of large weights) and copied otherwise. Idempotent.
 */
export async function materializeModel(
  registry: ModelRegistry,
  model: ModelRecord,
  root: string,
): Promise<MaterializedModel> {
  const dir = join(root, model.name, String(model.version));
  for (const file of model.files) {
    const destination = join(dir, ...file.path.split('/'));
    const existing = await stat(destination).catch((e: unknown) => {
      if (isENOENT(e)) return undefined;
      throw e;
    });
    if (existing?.size === file.size) continue;
    if (existing) await unlink(destination);
    await mkdir(dirname(destination), { recursive: true });
    const blob = registry.blobPath(file);
    await link(blob, destination).catch(() => copyFile(blob, destination));
  }
  return { model, dir };
}
