/**
 * `modelport manifest validate`, and the check `modelport deploy` runs before anything is sent: any
 * deployment manifest, whoever wrote it (az iot edge set-modules, VS Code / iotedgedev, the portal's
 * export, an IoT Hub configuration, a $edgeAgent twin, a layered deployment), against the official IoT
 * Edge schema, manifests/' semantic checks, and the values Docker would refuse in createOptions.
 */
import { IssueList, type PathSegment } from '../../manifests/errors.js';
import {
  type DeploymentForm,
  dedupeIssues,
  isManifestError,
  ManifestError,
  type ManifestIssue,
  OfficialSchemaValidator,
  type ParsedDeployment,
  validateDeployment,
} from '../../manifests/index.js';
import { checkDockerOptionValues } from './docker-option-values.js';
import { checkLayeredContent, isLayeredContent } from './layered-check.js';

export type ManifestShape = DeploymentForm | 'layered';

export interface ManifestModule {
  name: string;
  image?: string;
}

export interface ManifestReport {
  /** Which shape the document had; `layered` for a layered deployment's content. */
  shape: ManifestShape;
  /** The custom modules it runs (or, layered, sets). */
  modules: ManifestModule[];
  /** Empty when the manifest is valid. */
  issues: ManifestIssue[];
  /** The normalized deployment, for a valid whole deployment. */
  parsed?: ParsedDeployment;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Where `modulesContent` (or the older `moduleContent`) sits: at the top or under a configuration's `content`. */
export function findModulesContent(json: unknown): { value: Json; path: PathSegment[] } | undefined {
  if (!isObject(json)) return undefined;
  for (const holder of [[], ['content']] as PathSegment[][]) {
    const parent = holder.length === 0 ? json : json['content'];
    if (!isObject(parent)) continue;
    for (const key of ['modulesContent', 'moduleContent']) {
      const value = parent[key];
      if (isObject(value)) return { value, path: [...holder, key] };
    }
  }
  return undefined;
}

/** Checks a manifest of any accepted shape; never throws for a bad manifest (see `issues`). */
export function checkManifest(
  json: unknown,
  validator: OfficialSchemaValidator = new OfficialSchemaValidator(),
): ManifestReport {
  const content = findModulesContent(json);
  if (content && isLayeredContent(content.value)) {
    const { issues, modules } = checkLayeredContent(content.value, content.path, validator);
    return { shape: 'layered', modules, issues: dedupeIssues(issues.items) };
  }
  let parsed: ParsedDeployment;
  try {
    parsed = validateDeployment(json, validator);
  } catch (e) {
    if (!isManifestError(e)) throw e;
    return {
      shape: content?.path[0] === 'content' ? 'configuration' : 'deployment',
      modules: [],
      issues: [...e.issues],
    };
  }
  const issues = new IssueList();
  const agentPath = edgeAgentPath(json, parsed.form, content?.path);
  const { modules, systemModules } = parsed.edgeAgent;
  for (const [name, m] of Object.entries(modules)) {
    checkDockerOptionValues(
      m.settings.createOptions,
      [...agentPath, 'modules', name, 'settings', 'createOptions'],
      issues,
    );
  }
  for (const [name, m] of Object.entries(systemModules)) {
    checkDockerOptionValues(
      m.settings.createOptions,
      [...agentPath, 'systemModules', name, 'settings', 'createOptions'],
      issues,
    );
  }
  return {
    shape: parsed.form,
    modules: Object.entries(modules).map(([name, m]) => ({ name, image: m.settings.image })),
    issues: dedupeIssues(issues.items),
    parsed,
  };
}

/** checkManifest that throws one ManifestError (exit 2, `details.errors`) when anything is wrong. */
export function assertValidManifest(
  json: unknown,
  validator: OfficialSchemaValidator = new OfficialSchemaValidator(),
  subject = 'deployment manifest',
): ManifestReport {
  const report = checkManifest(json, validator);
  if (report.issues.length > 0) throw new ManifestError(report.issues, { subject });
  return report;
}

function edgeAgentPath(
  json: unknown,
  form: DeploymentForm,
  modulesContentPath?: PathSegment[],
): PathSegment[] {
  if (form !== 'edgeAgentTwin')
    return [...(modulesContentPath ?? ['modulesContent']), '$edgeAgent', 'properties.desired'];
  const props = isObject(json) ? json['properties'] : undefined;
  return isObject(props) && isObject(props['desired']) ? ['properties', 'desired'] : [];
}
