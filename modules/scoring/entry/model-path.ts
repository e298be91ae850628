import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Raised when a script asks for a model that is not laid out under AZUREML_MODEL_DIR. */
export class ModelPathError extends Error {
  override name = 'ModelPathError';
}

const isVersion = (name: string) => /^[0-9]+$/.test(name);

function versionsIn(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  const entries = readdirSync(dir, { withFileTypes: true });
  if (entries.length === 0 || !entries.every((e) => e.isDirectory() && isVersion(e.name))) return [];
  return entries.map((e) => e.name).sort((a, b) => Number(a) - Number(b));
}

/**
 * Where a deployed model's files are, as Azure ML's `Model.get_model_path(name, version)` answers
 * inside a deployment. AZUREML_MODEL_DIR is either one model's folder (`…/NAME/VERSION`) or, with
 * several models, the folder holding `NAME/VERSION/`. The answer is the registered asset: the file
 * itself when the version folder holds a single file or folder (so `InferenceSession.create(path)`
 * works on a single-file model), else the version folder. Without a version, the latest.
 */
export function getModelPath(
  name: string,
  version?: string | number,
  modelDir = process.env.AZUREML_MODEL_DIR,
): string {
  if (!modelDir)
    throw new ModelPathError('AZUREML_MODEL_DIR is not set: no model was deployed with this script');
  const versions = versionsIn(join(modelDir, name));
  let dir: string;
  if (versions.length > 0) {
    const wanted = version === undefined ? versions[versions.length - 1] : String(version);
    if (!wanted || !versions.includes(wanted)) {
      throw new ModelPathError(
        `model '${name}' has no version ${wanted} here (versions: ${versions.join(', ')})`,
      );
    }
    dir = join(modelDir, name, wanted);
  } else {
    const several = readdirSync(modelDir, { withFileTypes: true }).filter(
      (e) => e.isDirectory() && versionsIn(join(modelDir, e.name)).length > 0,
    );
    if (several.length > 0) {
      throw new ModelPathError(
        `model '${name}' is not deployed here (models: ${several.map((e) => e.name).join(', ')})`,
      );
    }
    // One model: AZUREML_MODEL_DIR is its version folder (…/NAME/VERSION).
    const parts = modelDir.split(/[\\/]/).filter((p) => p.length > 0);
    const [dirName, dirVersion] = parts.slice(-2);
    if (dirVersion && isVersion(dirVersion) && dirName && dirName !== name) {
      throw new ModelPathError(`model '${name}' is not deployed here (the deployed model is '${dirName}')`);
    }
    if (version !== undefined && dirVersion && isVersion(dirVersion) && String(version) !== dirVersion) {
      throw new ModelPathError(`model '${name}' is deployed at version ${dirVersion}, not ${version}`);
    }
    dir = modelDir;
  }
  const entries = readdirSync(dir);
  return entries.length === 1 && entries[0] ? join(dir, entries[0]) : dir;
}
