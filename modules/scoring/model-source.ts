import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { ModelportError } from '../../common/errors.js';

/** One model to serve: where its folder is and which file in it is the ONNX graph. */
export interface ModelSource {
  name: string;
  version: string;
  /** The model's folder (what AZUREML_MODEL_DIR is when it is the only model). */
  dir: string;
  /** The ONNX file, absolute. */
  file: string;
}

/**
 * The models of a container, from the environment Azure ML defines: AZUREML_MODEL_DIR is one model's
 * folder (…/$NAME/$VERSION) or the folder holding $NAME/$VERSION/ for several. MODELPORT_MODELS
 * (JSON `[{name, version, file?}]`, written by `modelport package`) names them exactly; without it the
 * layout is discovered.
 */
export function modelsFromEnvironment(env: NodeJS.ProcessEnv): ModelSource[] {
  const root = env.AZUREML_MODEL_DIR;
  if (!root) {
    throw new ModelportError('MODEL_DIR_UNSET', 'AZUREML_MODEL_DIR is not set', {
      hint: 'set AZUREML_MODEL_DIR to the model folder (or the folder holding NAME/VERSION/ for several models)',
      exitCode: 2,
    });
  }
  if (!existsSync(root)) {
    throw new ModelportError('MODEL_DIR_MISSING', `AZUREML_MODEL_DIR ${root} does not exist`, {
      exitCode: 2,
    });
  }
  if (env.MODELPORT_MODELS) return modelsFromList(root, env.MODELPORT_MODELS);
  return discoverModels(root);
}

function modelsFromList(root: string, listJson: string): ModelSource[] {
  let list: { name: string; version: string | number; file?: string }[];
  try {
    list = JSON.parse(listJson);
    if (!Array.isArray(list)) throw new Error('not an array');
  } catch (cause) {
    throw new ModelportError(
      'MODEL_LIST_INVALID',
      `MODELPORT_MODELS is not a JSON array of {name, version, file}`,
      {
        exitCode: 2,
        cause,
      },
    );
  }
  const single = list.length === 1;
  return list.map((m) => {
    const dir =
      single && !existsSync(join(root, m.name, String(m.version)))
        ? root
        : join(root, m.name, String(m.version));
    return {
      name: m.name,
      version: String(m.version),
      dir,
      file: m.file ? join(dir, m.file) : findOnnxFile(dir, m.name),
    };
  });
}

/** Several models when the folder holds NAME/VERSION/ folders only; otherwise one model. */
export function discoverModels(root: string): ModelSource[] {
  const entries = readdirSync(root, { withFileTypes: true });
  const nested =
    entries.length > 0 && entries.every((e) => e.isDirectory() && hasOnlyVersionFolders(join(root, e.name)));
  if (nested) {
    return entries.flatMap((e) =>
      readdirSync(join(root, e.name)).map((version) => {
        const dir = join(root, e.name, version);
        return { name: e.name, version, dir, file: findOnnxFile(dir, e.name) };
      }),
    );
  }
  const version = basename(root);
  const numbered = /^[0-9]+$/.test(version);
  const name = numbered ? basename(dirname(root)) : version;
  return [{ name, version: numbered ? version : '1', dir: root, file: findOnnxFile(root, name) }];
}

function hasOnlyVersionFolders(dir: string): boolean {
  const children = readdirSync(dir, { withFileTypes: true });
  return children.length > 0 && children.every((c) => c.isDirectory() && /^[0-9]+$/.test(c.name));
}

/** The one .onnx file under a model folder; `model.onnx` wins when there are several. */
export function findOnnxFile(dir: string, modelName: string): string {
  const candidates = (readdirSync(dir, { recursive: true }) as string[])
    .filter((p) => p.toLowerCase().endsWith('.onnx') && statSync(join(dir, p)).isFile())
    .sort();
  const chosen =
    candidates.length === 1
      ? candidates[0]
      : candidates.find((p) => basename(p).toLowerCase() === 'model.onnx');
  if (!chosen) {
    throw new ModelportError(
      'MODEL_FILE_NOT_FOUND',
      candidates.length === 0
        ? `model '${modelName}' has no .onnx file under ${dir}`
        : `model '${modelName}' has several .onnx files (${candidates.join(', ')}) and none is named model.onnx`,
      { hint: 'name the file in MODELPORT_MODELS ([{"name","version","file"}])', exitCode: 2 },
    );
  }
  return join(dir, chosen);
}

export function relativeFile(source: ModelSource): string {
  return relative(source.dir, source.file).split(sep).join('/');
}
