/**
 * Checks the content of a *layered* IoT Edge deployment. A layered deployment does not replace a module
 * twin's desired properties; it sets paths inside them, one key per path
 * (IoT Edge docs, "Layered deployment" in module-deployment-monitoring and module-composition):
 * - `$edgeAgent`: `properties.desired.modules.<module>` (a whole module: type, settings, status, …) and
 *   `properties.desired.runtime.settings.registryCredentials.<name>`; system modules, schemaVersion and
 *   runtime settings come from the base deployment that must already target the device;
 * - `$edgeHub`: `properties.desired.routes.<name>`;
 * - a custom module: `properties.desired` (the whole twin) or `properties.desired.<property>`.
 * Each module and route is checked with the same rules as a whole deployment, the paths pointing into
 * the layered document.
 */
import { formatPath, IssueList, type PathSegment } from '../../manifests/errors.js';
import {
  checkTwinLimits,
  deploymentFromInput,
  isManifestError,
  moduleNameProblem,
  type OfficialSchemaValidator,
  TWIN_DESIRED_MAX_BYTES,
  TWIN_VALUE_MAX_BYTES,
  toDeploymentManifest,
  twinSize,
  validateDeployment,
} from '../../manifests/index.js';
import { checkDockerOptionValues } from './docker-option-values.js';

export const WHOLE_DESIRED = 'properties.desired';
const PATH_PREFIX = `${WHOLE_DESIRED}.`;
const CREDENTIALS_PATH = ['runtime', 'settings', 'registryCredentials'];

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * True when `modulesContent` is a layered deployment: `$edgeAgent` (if present) has no whole
 * `properties.desired`, and some section sets a `properties.desired.<path>` key.
 */
export function isLayeredContent(modulesContent: Json): boolean {
  const agent = modulesContent['$edgeAgent'];
  if (isObject(agent) && WHOLE_DESIRED in agent) return false;
  return Object.values(modulesContent).some(
    (section) => isObject(section) && Object.keys(section).some((k) => k.startsWith(PATH_PREFIX)),
  );
}

export interface LayeredModule {
  name: string;
  image?: string;
}

/** Every problem in layered `modulesContent` found at `path`, and the modules it sets. */
export function checkLayeredContent(
  modulesContent: Json,
  path: readonly PathSegment[],
  validator: OfficialSchemaValidator,
): { issues: IssueList; modules: LayeredModule[] } {
  const issues = new IssueList();
  const modules: LayeredModule[] = [];
  let entries = 0;
  for (const [section, value] of Object.entries(modulesContent)) {
    const here = [...path, section];
    if (!isObject(value)) {
      issues.add(here, 'type', 'each module of modulesContent must be an object of desired-property paths');
      continue;
    }
    if (section !== '$edgeAgent' && section !== '$edgeHub') {
      const problem = moduleNameProblem(section);
      if (problem) issues.add(here, 'module-name', problem);
    }
    for (const [key, entry] of Object.entries(value)) {
      const segments = desiredSegments(key);
      if (!segments) {
        issues.add(
          [...here, key],
          'layered-path',
          `keys must be '${WHOLE_DESIRED}' or start with '${PATH_PREFIX}'`,
        );
        continue;
      }
      entries++;
      const at = [...here, key];
      if (section === '$edgeAgent') checkAgentEntry(segments, entry, at, validator, issues, modules);
      else if (section === '$edgeHub') checkHubEntry(segments, entry, at, issues);
      else checkTwinEntry(entry, at, issues);
    }
    const size = twinSize(Object.values(value));
    if (size > TWIN_DESIRED_MAX_BYTES) {
      issues.add(
        here,
        'twin-size',
        `the desired properties this deployment sets on ${section} are ${size} bytes as IoT Hub counts them; a twin allows at most ${TWIN_DESIRED_MAX_BYTES}`,
      );
    }
  }
  if (entries === 0) issues.add(path, 'layered-empty', 'this layered deployment sets nothing');
  return { issues, modules };
}

/** `properties.desired.a.b` → `['a', 'b']`; `properties.desired` → `[]`; anything else → undefined. */
function desiredSegments(key: string): string[] | undefined {
  if (key === WHOLE_DESIRED) return [];
  if (!key.startsWith(PATH_PREFIX)) return undefined;
  const segments = key.slice(PATH_PREFIX.length).split('.');
  return segments.some((s) => s === '') ? undefined : segments;
}

function checkAgentEntry(
  segments: string[],
  value: unknown,
  at: PathSegment[],
  validator: OfficialSchemaValidator,
  issues: IssueList,
  modules: LayeredModule[],
): void {
  const [first, name] = segments;
  if (first === 'modules' && name !== undefined) {
    const problem = moduleNameProblem(name);
    if (problem) issues.add(at, 'module-name', problem);
    else if (segments.length === 2) modules.push(checkModule(name, value, at, validator, issues));
    return;
  }
  const isCredential = segments.length >= 4 && CREDENTIALS_PATH.every((s, i) => segments[i] === s);
  if (isCredential) {
    if (segments.length === 4) checkCredential(value, at, issues);
    return;
  }
  issues.add(
    at,
    'layered-path',
    `a layered deployment sets '${PATH_PREFIX}modules.<module>' and '${PATH_PREFIX}runtime.settings.registryCredentials.<name>' ` +
      'in $edgeAgent; schemaVersion, runtime settings and system modules come from the base deployment',
  );
}

/** Checks one module by placing it in an otherwise default deployment; paths are mapped back to `at`. */
function checkModule(
  name: string,
  value: unknown,
  at: PathSegment[],
  validator: OfficialSchemaValidator,
  issues: IssueList,
): LayeredModule {
  const skeleton = toDeploymentManifest(deploymentFromInput({ modules: {} }));
  const agentPath = ['modulesContent', '$edgeAgent', WHOLE_DESIRED];
  (skeleton.modulesContent.$edgeAgent[WHOLE_DESIRED].modules as Json)[name] = value;
  const modulePrefix = formatPath([...agentPath, 'modules', name]);
  const target = formatPath(at);
  try {
    const parsed = validateDeployment(skeleton, validator);
    const createOptions = parsed.edgeAgent.modules[name]?.settings.createOptions;
    if (createOptions) checkDockerOptionValues(createOptions, [...at, 'settings', 'createOptions'], issues);
  } catch (e) {
    if (!isManifestError(e)) throw e;
    for (const issue of e.issues) {
      const path = issue.path.startsWith(modulePrefix)
        ? target + issue.path.slice(modulePrefix.length)
        : target;
      issues.push({ ...issue, path });
    }
  }
  const image = isObject(value) && isObject(value['settings']) ? value['settings']['image'] : undefined;
  return { name, ...(typeof image === 'string' && { image }) };
}

function checkCredential(value: unknown, at: PathSegment[], issues: IssueList): void {
  if (!isObject(value)) {
    issues.add(at, 'type', 'a registry credential is {"username", "password", "address"}');
    return;
  }
  for (const field of ['username', 'password', 'address']) {
    if (typeof value[field] !== 'string' || value[field] === '') {
      issues.add([...at, field], 'required', `registry credentials need a non-empty ${field}`);
    }
  }
  for (const key of Object.keys(value)) {
    if (!['username', 'password', 'address'].includes(key)) {
      issues.add(
        [...at, key],
        'additionalProperties',
        'registry credentials hold only username, password and address',
      );
    }
  }
}

function checkHubEntry(segments: string[], value: unknown, at: PathSegment[], issues: IssueList): void {
  if (segments.length !== 2 || segments[0] !== 'routes') {
    issues.add(
      at,
      'layered-path',
      `a layered deployment sets '${PATH_PREFIX}routes.<name>' in $edgeHub; schemaVersion and store-and-forward come from the base deployment`,
    );
    return;
  }
  if (typeof value === 'string') {
    if (value.trim() === '') issues.add(at, 'route', 'a route must not be empty');
    else if (Buffer.byteLength(value) > TWIN_VALUE_MAX_BYTES) {
      issues.add(at, 'twin-value-size', `a route may be at most ${TWIN_VALUE_MAX_BYTES} bytes`);
    }
    return;
  }
  if (!isObject(value) || typeof value['route'] !== 'string' || value['route'].trim() === '') {
    issues.add(at, 'route', 'a route is a string, or {"route", "priority"?, "timeToLiveSecs"?}');
    return;
  }
  const priority = value['priority'];
  if (
    priority !== undefined &&
    !(Number.isInteger(priority) && (priority as number) >= 0 && (priority as number) <= 9)
  ) {
    issues.add([...at, 'priority'], 'route', 'route priority is an integer from 0 to 9');
  }
  const ttl = value['timeToLiveSecs'];
  if (ttl !== undefined && !(Number.isInteger(ttl) && (ttl as number) >= 0)) {
    issues.add([...at, 'timeToLiveSecs'], 'route', 'timeToLiveSecs is a non-negative integer');
  }
  for (const key of Object.keys(value)) {
    if (!['route', 'priority', 'timeToLiveSecs'].includes(key)) {
      issues.add(
        [...at, key],
        'additionalProperties',
        'a route object holds only route, priority and timeToLiveSecs',
      );
    }
  }
}

function checkTwinEntry(value: unknown, at: PathSegment[], issues: IssueList): void {
  if (isObject(value)) checkTwinLimits(value, at, `the module twin at ${formatPath(at)}`, issues);
  else if (typeof value === 'string' && Buffer.byteLength(value) > TWIN_VALUE_MAX_BYTES) {
    issues.add(at, 'twin-value-size', `a twin property value may be at most ${TWIN_VALUE_MAX_BYTES} bytes`);
  }
}
