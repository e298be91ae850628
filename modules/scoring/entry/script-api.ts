/**
 * What entry scripts import as `modelport/scoring` (resolved by the entry worker, so it works
 * wherever the script lives, under `modelport serve` and inside images):
 *
 *   import { getModelPath, InputError } from 'modelport/scoring';
 *
 * CommonJS scripts use `await import('modelport/scoring')`, or the context init() receives.
 */
export { getModelPath, ModelPathError } from './model-path.js';

/**
 * Throw this from run() when the request itself is wrong: the client gets a 4xx (default 400) with
 * this message instead of a 500. Any error with a numeric `status` of 400–499 works the same way.
 */
export class InputError extends Error {
  override name = 'InputError';
  readonly status: number;
  readonly code: string;
  constructor(message: string, options: { status?: number; code?: string } = {}) {
    super(message);
    this.status = options.status ?? 400;
    this.code = options.code ?? 'INPUT_INVALID';
  }
}

/** What init(context) receives. */
export interface ScriptContext {
  /** AZUREML_MODEL_DIR (undefined when no model was deployed with the script). */
  modelDir: string | undefined;
  getModelPath: (name: string, version?: string | number) => string;
  /** Which entry worker this is (0-based); each worker runs init() once. */
  workerIndex: number;
}
