/**
 * What a module serving registered models carries besides its image, so the device can find and verify
 * the models it runs:
 * - env, as the packaged image lays models out (the Azure ML layout, `cloud/package`):
 *   `AZUREML_MODEL_DIR` is `/var/azureml-app/azureml-models/$NAME/$VERSION` for one model, the
 *   `azureml-models` folder for several; `MODELPORT_MODELS` is JSON `[{name, version, file?}]` (file: the
 *   ONNX graph inside the model); `MODELPORT_EXPECTED_MODELS` is JSON `[{name, version, digest}]`, which
 *   the scoring module checks its files against before serving (modules/scoring/integrity.ts) — from env,
 *   so the check holds offline and under the real IoT Edge runtime alike;
 * - the module twin's desired properties: `{models: [{name, version, digest, files?: [{path, sha256}]}],
 *   collect?, executionProvider?}`; the scoring module checks its files against them at start;
 * - the spec's `collect: {rate, fields}` also as env (`MODELPORT_COLLECT_RATE`, `MODELPORT_COLLECT_FIELDS`
 *   as JSON `{"input": "keep"|"drop"|"hash"}`), which the scoring module reads at start: collection
 *   is decided before the first request, with or without a hub to read the twin from.
 */
import type { CreateOptions, ModuleSpec, ModuleTwinDesired } from '../../manifests/index.js';
import { twinSize } from '../../manifests/index.js';
import type { ModelFacts } from './lookups.js';

export const AZUREML_MODELS_ROOT = '/var/azureml-app/azureml-models';

/**
 * File lists are left out of the twin above this many bytes (IoT Hub allows 32 KB per twin's desired
 * properties; the rest of the module's settings need room too). The digest alone still pins the model.
 */
export const TWIN_FILES_BUDGET_BYTES = 16 * 1024;

export function modelEnv(models: readonly ModelFacts[]): Record<string, string> {
  const [only] = models;
  const dir =
    models.length === 1 && only ? `${AZUREML_MODELS_ROOT}/${only.name}/${only.version}` : AZUREML_MODELS_ROOT;
  // The same JSON the packaged image sets (cloud/package/dockerfile.ts imageEnv), so the two never disagree.
  const list = models.map((m) => ({
    name: m.name,
    version: String(m.version),
    ...(m.onnxFile !== undefined && { file: m.onnxFile }),
  }));
  const expected = models.map((m) => ({ name: m.name, version: String(m.version), digest: m.digest }));
  return {
    AZUREML_MODEL_DIR: dir,
    MODELPORT_MODELS: JSON.stringify(list),
    MODELPORT_EXPECTED_MODELS: JSON.stringify(expected),
  };
}

/**
 * The model-data collection settings as the scoring module reads them (modules/scoring/collect).
 * `collect: {fields}` without a rate collects every request: asking for collection and getting none
 * would surprise; an explicit `rate: 0` turns it off.
 */
export function collectEnv(collect: ModuleSpec['collect']): Record<string, string> {
  if (collect === undefined) return {};
  const fields = collect.fields ?? {};
  return {
    MODELPORT_COLLECT_RATE: String(collect.rate ?? 1),
    ...(Object.keys(fields).length > 0 && { MODELPORT_COLLECT_FIELDS: JSON.stringify(fields) }),
  };
}

/**
 * The module twin's desired properties for a module of `spec` serving `models` (none for a module that
 * names only an image: then just its collect / executionProvider settings, if any). `filesOmitted` says
 * the file lists did not fit the twin budget.
 */
export function moduleTwinDesired(
  models: readonly ModelFacts[],
  spec: Pick<ModuleSpec, 'collect' | 'executionProvider'>,
): { desired: ModuleTwinDesired | undefined; filesOmitted: boolean } {
  const settings: ModuleTwinDesired = {
    ...(spec.collect !== undefined && { collect: spec.collect }),
    ...(spec.executionProvider !== undefined && { executionProvider: spec.executionProvider }),
  };
  if (models.length === 0) {
    return { desired: Object.keys(settings).length > 0 ? settings : undefined, filesOmitted: false };
  }
  const entry = (m: ModelFacts, withFiles: boolean) => ({
    name: m.name,
    version: m.version,
    digest: m.digest,
    ...(withFiles && { files: m.files.map((f) => ({ path: f.path, sha256: f.sha256 })) }),
  });
  const withFiles = { models: models.map((m) => entry(m, true)), ...settings };
  if (twinSize(withFiles) <= TWIN_FILES_BUDGET_BYTES) return { desired: withFiles, filesOmitted: false };
  return { desired: { models: models.map((m) => entry(m, false)), ...settings }, filesOmitted: true };
}

/** createOptions label modelport-agent reads to update a module start-first (agent/reconcile/start-first.ts). */
export const UPDATE_LABEL = 'modelport.update';
export const START_FIRST = 'start-first';
/** The port the packaged image's scoring server listens on (its Dockerfile `ENV MODELPORT_PORT=5001`). */
export const SCORING_PORT = 5001;

/**
 * Model modules are marked for start-first updates, so modelport-agent swaps model versions with no
 * failed request (it owns the public port through its proxy and runs each container on a port of its
 * own; the real IoT Edge runtime ignores the label). Not when the spec publishes ports (the agent's
 * proxy and Docker's port binding would both want the host port) or sets the label itself (e.g.
 * `recreate` to opt out). The agent needs the public port in env `MODELPORT_PORT`: the image's own
 * default unless the spec sets it.
 */
export function startFirstMarking(
  mod: Pick<ModuleSpec, 'ports' | 'createOptions' | 'env'>,
  modelCount: number,
): { labels: CreateOptions; env: Record<string, string> } | undefined {
  if (modelCount === 0 || (mod.ports !== undefined && mod.ports.length > 0)) return undefined;
  const labels = (mod.createOptions as { Labels?: Record<string, unknown> } | undefined)?.Labels;
  if (labels && UPDATE_LABEL in labels) return undefined;
  return {
    labels: { Labels: { [UPDATE_LABEL]: START_FIRST } },
    env: mod.env?.['MODELPORT_PORT'] === undefined ? { MODELPORT_PORT: String(SCORING_PORT) } : {},
  };
}
