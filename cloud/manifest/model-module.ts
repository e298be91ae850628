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

type PortedModule = Pick<ModuleSpec, 'ports' | 'createOptions' | 'env' | 'models'>;

/** Whether the module's createOptions put it on the host network (`HostConfig.NetworkMode: host`). */
export function onHostNetwork(mod: Pick<ModuleSpec, 'createOptions'>): boolean {
  const hostConfig = (mod.createOptions as { HostConfig?: { NetworkMode?: unknown } } | undefined)
    ?.HostConfig;
  return hostConfig?.NetworkMode === 'host';
}

const servesModels = (mod: PortedModule) => (mod.models ?? []).length > 0;

/**
 * The port each model module on the host network listens on (`MODELPORT_PORT`). There, every module
 * shares the device's ports, so two scoring servers on the image's default 5001 would collide: a
 * module keeps the port its spec env sets, and the others get distinct ones from 5001 upwards, in
 * module order, skipping the ports the spec names. Modules on their own network (Docker's bridge) each
 * have their own 5001 and are left alone.
 */
export function scoringPorts(modules: Readonly<Record<string, PortedModule>>): Map<string, number> {
  const onHost = Object.entries(modules).filter(([, m]) => servesModels(m) && onHostNetwork(m));
  const named = new Set(onHost.map(([, m]) => Number(m.env?.['MODELPORT_PORT'])).filter(Number.isInteger));
  const ports = new Map<string, number>();
  let next = SCORING_PORT;
  for (const [name, m] of onHost) {
    const own = Number(m.env?.['MODELPORT_PORT']);
    if (Number.isInteger(own)) {
      ports.set(name, own);
      continue;
    }
    while (named.has(next)) next++;
    ports.set(name, next++);
  }
  return ports;
}

/**
 * Model modules on the host network (what devices running modelport-agent use) are marked for
 * start-first updates, so the agent swaps model versions with no failed request: it owns the module's
 * public port (`MODELPORT_PORT`) through its proxy and runs each container on a port of its own (the
 * real IoT Edge runtime ignores the label). Not modules on a network of their own (the proxy could not
 * reach their ports, and they never published one on the host), nor modules that publish `ports`
 * (Docker's port binding would want the same host port), nor a spec that sets the label itself (e.g.
 * `recreate` to opt out). `port` is the module's entry from `scoringPorts`: written to env when the
 * spec does not set MODELPORT_PORT, for start-first modules and the others on the host network alike.
 */
export function startFirstMarking(
  mod: PortedModule,
  port: number | undefined,
): { labels: CreateOptions | undefined; env: Record<string, string> } {
  const env: Record<string, string> = {};
  if (port !== undefined && mod.env?.['MODELPORT_PORT'] === undefined) env['MODELPORT_PORT'] = String(port);
  const labels = (mod.createOptions as { Labels?: Record<string, unknown> } | undefined)?.Labels;
  const eligible =
    servesModels(mod) &&
    onHostNetwork(mod) &&
    (mod.ports === undefined || mod.ports.length === 0) &&
    !(labels && UPDATE_LABEL in labels);
  return { labels: eligible ? { Labels: { [UPDATE_LABEL]: START_FIRST } } : undefined, env };
}
