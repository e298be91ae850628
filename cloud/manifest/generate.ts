/**
 * Deployment spec + registry → IoT Edge deployment manifest (pure: the outside world comes in through
 * `ManifestLookups` and `env`). Every problem in the spec is collected and reported at once, each with
 * the path of the spec field it concerns.
 */
import { formatPath, IssueList } from '../../manifests/errors.js';
import {
  buildDeployment,
  type CreateOptions,
  type DeploymentInput,
  type DeploymentManifest,
  type DeploymentSpec,
  isManifestError,
  ManifestError,
  type ManifestIssue,
  type ModuleInput,
  type ModuleSpec,
  type ModuleTwinDesired,
  OfficialSchemaValidator,
} from '../../manifests/index.js';
import { parseModelRef } from '../registry/model-ref.js';
import { type Environment, resolveRegistryCredentials } from './credentials.js';
import { checkDockerOptionValues } from './docker-option-values.js';
import type { ImageFacts, ManifestLookups, ModelFacts } from './lookups.js';
import { collectEnv, modelEnv, moduleTwinDesired, scoringPorts, startFirstMarking } from './model-module.js';
import { generatedCreateOptions, mergeCreateOptions } from './module-create-options.js';

/** One module of the generated manifest, for the command's summary. */
export interface GeneratedModule {
  name: string;
  image: string;
  /** `spec`: the spec's `image:`; `packaged`: the image `modelport package` recorded for its models. */
  imageSource: 'spec' | 'packaged';
  platform?: string;
  models: { name: string; version: number; digest: string }[];
}

export interface GeneratedManifest {
  manifest: DeploymentManifest;
  modules: GeneratedModule[];
  warnings: string[];
}

export interface GenerateOptions {
  /** Reuse compiled official schemas across calls. */
  validator?: OfficialSchemaValidator;
}

const SPEC_SUBJECT = 'deployment spec';

interface ModuleResult {
  input: ModuleInput;
  summary: GeneratedModule;
  twin: ModuleTwinDesired | undefined;
}

/**
 * Builds the deployment manifest a spec describes. Throws ManifestError listing every problem:
 * code MODEL_NOT_FOUND / IMAGE_NOT_PACKAGED / SPEC_REFERENCES_UNRESOLVED (exit 3) when the spec names
 * models or packaged images that do not exist, DEPLOYMENT_SPEC_INVALID (exit 2) for anything else in
 * the spec (unset credential variables, create options Docker would refuse), and MANIFEST_INVALID
 * (exit 2) when the result breaks IoT Hub's or IoT Edge's rules (e.g. a twin over 32 KB).
 */
export function generateManifest(
  spec: DeploymentSpec,
  lookups: ManifestLookups,
  env: Environment,
  options: GenerateOptions = {},
): GeneratedManifest {
  const issues = new IssueList();
  const unresolved = new IssueList();
  const warnings: string[] = [];
  const modules: Record<string, ModuleInput> = {};
  const moduleTwins: Record<string, ModuleTwinDesired> = {};
  const summaries: GeneratedModule[] = [];

  const ports = scoringPorts(spec.modules);
  for (const [name, mod] of Object.entries(spec.modules)) {
    const result = generateModule(name, mod, ports.get(name), lookups, { issues, unresolved, warnings });
    if (!result) continue;
    modules[name] = result.input;
    summaries.push(result.summary);
    if (result.twin) moduleTwins[name] = result.twin;
  }
  for (const system of ['edgeAgent', 'edgeHub'] as const) {
    const createOptions = spec[system]?.createOptions;
    if (createOptions) checkDockerOptionValues(createOptions, [system, 'createOptions'], issues);
  }
  const registryCredentials = resolveRegistryCredentials(spec.registryCredentials, env, issues);

  throwSpecProblems(unresolved.items, issues.items);

  const input: DeploymentInput = {
    modules,
    routes: spec.routes ?? defaultRoutes(summaries),
    ...(spec.storeAndForward && { storeAndForwardTimeToLiveSecs: spec.storeAndForward.timeToLiveSecs }),
    registryCredentials,
    ...(spec.edgeAgent && { edgeAgent: spec.edgeAgent }),
    ...(spec.edgeHub && { edgeHub: spec.edgeHub }),
    moduleTwins,
  };
  if (spec.routes === undefined && summaries.some((m) => m.models.length > 0)) {
    warnings.push(
      'the spec has no routes: each model module sends its outputs (results, collected data) to $upstream',
    );
  }
  let manifest: DeploymentManifest;
  try {
    manifest = buildDeployment(input, options.validator ?? new OfficialSchemaValidator());
  } catch (e) {
    if (!isManifestError(e)) throw e;
    throw new ManifestError(e.issues, {
      subject: 'manifest generated from the spec',
      code: 'MANIFEST_INVALID',
      hint: 'the paths name the generated manifest; change the spec fields they come from (modules, env, createOptions, routes)',
    });
  }
  return { manifest, modules: summaries, warnings };
}

interface Sinks {
  issues: IssueList;
  unresolved: IssueList;
  warnings: string[];
}

function generateModule(
  name: string,
  mod: ModuleSpec,
  port: number | undefined,
  lookups: ManifestLookups,
  sinks: Sinks,
): ModuleResult | undefined {
  const here = ['modules', name];
  const models: ModelFacts[] = [];
  (mod.models ?? []).forEach((text, i) => {
    const found = lookups.model(parseModelRef(text));
    if ('missing' in found) {
      sinks.unresolved.add(
        [...here, 'models', i],
        'model-not-found',
        `${found.missing} (see \`modelport model list\`)`,
      );
    } else models.push(found);
  });
  if (mod.models && models.length < mod.models.length) return undefined;

  const image = chooseImage(name, mod, models, lookups, sinks);

  const generated = generatedCreateOptions(mod);
  const startFirst = startFirstMarking(mod, port);
  const { options: createOptions, overrides } = mergeCreateOptions(
    startFirst.labels ? { ...generated.options, ...startFirst.labels } : generated.options,
    mod.createOptions,
    generated.sources,
  );
  for (const o of overrides) {
    sinks.warnings.push(
      `module '${name}': createOptions.${o.field} = ${JSON.stringify(o.explicit)} overrides ` +
        `${JSON.stringify(o.generated)} from ${o.source}`,
    );
  }
  checkMergedOptions(name, createOptions, mod, generated.sources, sinks.issues);

  const env = { ...(models.length > 0 ? modelEnv(models) : {}), ...collectEnv(mod.collect) };
  for (const [key, value] of Object.entries(mod.env ?? {})) {
    if (env[key] !== undefined && env[key] !== value) {
      sinks.warnings.push(
        `module '${name}': env ${key} from the spec replaces the value the packaged image expects`,
      );
    }
    env[key] = value;
  }
  Object.assign(env, startFirst.env);
  const { desired, filesOmitted } = moduleTwinDesired(models, mod);
  if (filesOmitted) {
    sinks.warnings.push(
      `module '${name}': the models' file lists do not fit the module twin; the device checks their digests only`,
    );
  }
  if (!image) return undefined;
  return {
    input: {
      image: image.image,
      createOptions,
      env,
      ...(mod.status !== undefined && { status: mod.status }),
      ...(mod.restartPolicy !== undefined && { restartPolicy: mod.restartPolicy }),
      ...(mod.startupOrder !== undefined && { startupOrder: mod.startupOrder }),
      ...(mod.imagePullPolicy !== undefined && { imagePullPolicy: mod.imagePullPolicy }),
    },
    summary: {
      name,
      image: image.image,
      imageSource: image.source,
      ...(image.platform !== undefined && { platform: image.platform }),
      models: models.map((m) => ({ name: m.name, version: m.version, digest: m.digest })),
    },
    twin: desired,
  };
}

/**
 * Checks the merged create options; a problem with a value generated from `resources` or `ports` (and
 * not set in the raw createOptions) is reported at that spec field, e.g. `modules.x.resources.memoryInGB`.
 */
function checkMergedOptions(
  name: string,
  options: CreateOptions,
  mod: ModuleSpec,
  sources: ReadonlyMap<string, string>,
  issues: IssueList,
): void {
  const here = ['modules', name];
  const found = new IssueList();
  checkDockerOptionValues(options, [...here, 'createOptions'], found);
  for (const issue of found.items) {
    const source = [...sources].find(
      ([field]) =>
        issue.path === formatPath([...here, 'createOptions', ...field.split('.')]) &&
        !hasPath(mod.createOptions, field.split('.')),
    )?.[1];
    if (source === undefined) issues.push(issue);
    else issues.add([...here, ...source.split('.')], issue.rule, issue.message);
  }
}

function hasPath(value: unknown, path: readonly string[]): boolean {
  let here = value;
  for (const key of path) {
    if (typeof here !== 'object' || here === null || !(key in here)) return false;
    here = (here as Record<string, unknown>)[key];
  }
  return true;
}

function chooseImage(
  name: string,
  mod: ModuleSpec,
  models: readonly ModelFacts[],
  lookups: ManifestLookups,
  sinks: Sinks,
): { image: string; source: 'spec' | 'packaged'; platform?: string } | undefined {
  const refs = models.map((m) => `${m.name}:${m.version}`).join(', ');
  if (mod.image !== undefined) {
    if (models.length > 0) {
      const records = lookups.imageRecords(mod.image);
      if (records.length > 0 && !records.some((r) => sameModels(r, models))) {
        const built = records[0]?.models.map((m) => `${m.name}:${m.version}`).join(', ');
        sinks.warnings.push(
          `module '${name}': image ${mod.image} was packaged for ${built}, not for ${refs}`,
        );
      }
    }
    return { image: mod.image, source: 'spec' };
  }
  const candidates = lookups.imagesForModels(models);
  const newest = candidates[0];
  if (!newest) {
    const args = models.map((m) => `--model ${m.name}:${m.version}`).join(' ');
    sinks.unresolved.add(
      ['modules', name, 'models'],
      'image-not-packaged',
      `no image was packaged for ${refs}: run \`modelport package ${args} --image REPO:TAG\` first, or set \`image:\` on module '${name}'`,
    );
    return undefined;
  }
  const digestsChanged = newest.models.filter((p) =>
    models.some((m) => m.name === p.name && m.version === p.version && m.digest !== p.digest),
  );
  if (digestsChanged.length > 0) {
    sinks.unresolved.add(
      ['modules', name, 'models'],
      'image-stale',
      `image ${newest.image} was packaged from other files than ${refs} now holds (digest differs); package it again`,
    );
    return undefined;
  }
  const others = candidates.filter((c) => c.platform !== newest.platform || c.image !== newest.image);
  if (others.length > 0) {
    sinks.warnings.push(
      `module '${name}': ${refs} was packaged ${candidates.length} times (${candidates.map((c) => `${c.image} ${c.platform}`).join('; ')}); ` +
        `using the newest, ${newest.image} (${newest.platform}); set \`image:\` to choose another`,
    );
  }
  return { image: newest.image, source: 'packaged', platform: newest.platform };
}

function sameModels(record: ImageFacts, models: readonly ModelFacts[]): boolean {
  const key = (list: readonly { name: string; version: number }[]) =>
    list
      .map((m) => `${m.name}:${m.version}`)
      .sort()
      .join(',');
  return key(record.models) === key(models);
}

/** Without routes in the spec, each model module's outputs go upstream (results and collected data). */
function defaultRoutes(modules: readonly GeneratedModule[]): Record<string, string> {
  return Object.fromEntries(
    modules
      .filter((m) => m.models.length > 0)
      .map((m) => [`${m.name}ToUpstream`, `FROM /messages/modules/${m.name}/outputs/* INTO $upstream`]),
  );
}

function throwSpecProblems(unresolved: readonly ManifestIssue[], other: readonly ManifestIssue[]): void {
  if (unresolved.length > 0) {
    const rules = new Set(unresolved.map((i) => i.rule));
    const code =
      rules.size === 1 && rules.has('model-not-found')
        ? 'MODEL_NOT_FOUND'
        : rules.size === 1 && rules.has('image-not-packaged')
          ? 'IMAGE_NOT_PACKAGED'
          : 'SPEC_REFERENCES_UNRESOLVED';
    throw new ManifestError([...unresolved, ...other], {
      subject: SPEC_SUBJECT,
      code,
      exitCode: 3,
      httpStatus: 404,
      hint: 'register the models (`modelport model register`) and package them (`modelport package`), or name images directly with `image:`',
    });
  }
  if (other.length > 0) {
    throw new ManifestError(other, {
      subject: SPEC_SUBJECT,
      code: 'DEPLOYMENT_SPEC_INVALID',
      hint: 'fix the listed spec fields; credentials come from the environment variables the spec names',
    });
  }
}
