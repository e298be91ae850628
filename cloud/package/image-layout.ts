/**
 * Where things live inside a module image. Azure ML's inference images use /var/azureml-app as the
 * app root and /var/azureml-app/azureml-models/$NAME/$VERSION for models; entry scripts and clients
 * written for them find the same paths here. The scoring module, its package.json and node_modules sit
 * in the app root too, so an entry script there resolves the same packages the server uses.
 */
export const APP_ROOT = '/var/azureml-app';
export const MODELS_ROOT = `${APP_ROOT}/azureml-models`;
/** Entry module of the scoring server, relative to APP_ROOT (and to dist/). */
export const SERVER_MAIN = 'modules/scoring/main.js';

/** Top-level folders of the build context (also what `--output-dir` writes). */
export const CONTEXT_DIRS = {
  /** Production dependencies → APP_ROOT/node_modules (first layer: changes least often). */
  nodeModules: 'node_modules',
  /** Compiled scoring module + package.json → APP_ROOT. */
  app: 'app',
  /** Model files as `NAME/VERSION/…` → MODELS_ROOT. */
  models: 'azureml-models',
  /** The compiled entry script → APP_ROOT. */
  entryScript: 'entry-script',
} as const;

/** The model folder inside the image, as AZUREML_MODEL_DIR names it for one model. */
export function modelDir(name: string, version: number): string {
  return `${MODELS_ROOT}/${name}/${version}`;
}
