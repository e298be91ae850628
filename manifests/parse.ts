/**
 * parseDeployment: every shape a deployment arrives in → one normalized, typed value.
 *
 * Accepted shapes (see DeploymentForm):
 * - `{modulesContent: {$edgeAgent, $edgeHub, <module>…}}` — az iot edge set-modules, VS Code, iotedgedev
 *   (also `moduleContent`, the older IoT Hub spelling, and a `$schema-template` key from the dev tools);
 * - `{content: {modulesContent: …}, id?, targetCondition?, …}` — an IoT Hub configuration;
 * - the `$edgeAgent` desired properties alone as the module twin delivers them, bare or under
 *   `properties.desired`, with the read-only `$version`/`$metadata` keys ignored.
 * Problems are reported with the JSONPath of the input as given and a rule name (ManifestError).
 */
import { readEdgeAgentDesired, stripTwinMetadata } from './edge-agent.js';
import { readEdgeHubDesired } from './edge-hub.js';
import { IssueList, type ManifestIssue, type PathSegment, throwIfIssues } from './errors.js';
import { isObject, type Json, Reader } from './read-helpers.js';
import { checkModuleName } from './semantic-checks.js';
import { checkTwinLimits } from './twin-limits.js';
import type {
  DeploymentForm,
  EdgeAgentDesired,
  EdgeHubDesired,
  ModuleTwinDesired,
  ParsedDeployment,
} from './types.js';

/** Where the parts of a deployment sit in the input document. */
export interface LocatedDeployment {
  form: DeploymentForm;
  /** The `modulesContent` object and its path (deployment and configuration forms). */
  modulesContent?: { value: Json; path: PathSegment[] };
  /** The `$edgeAgent` desired properties without twin metadata, and their path. */
  edgeAgent?: { value: Json; path: PathSegment[] };
  edgeHub?: { value: Json; path: PathSegment[] };
  moduleTwins: { name: string; value: Json; path: PathSegment[] }[];
}

const EDGE_AGENT_KEYS = ['schemaVersion', 'runtime', 'systemModules', 'modules'];

/** Finds which shape `json` has and where its parts are; records structural problems in `issues`. */
export function locateDeployment(json: unknown, issues: IssueList): LocatedDeployment | undefined {
  const r = new Reader(issues);
  if (!isObject(json)) {
    issues.add([], 'type', 'a deployment manifest must be a JSON object');
    return undefined;
  }
  const contentKey =
    'modulesContent' in json ? 'modulesContent' : 'moduleContent' in json ? 'moduleContent' : '';
  if (contentKey !== '') {
    // The dev tools' templates carry `$schema-template`; anything else beside modulesContent is a mistake.
    r.knownKeys(json, [contentKey], [], [/^\$schema/]);
    const mc = r.object(json[contentKey], [contentKey]);
    return mc && locateModulesContent(mc, [contentKey], 'deployment', r);
  }
  if (isObject(json['content'])) {
    const content = json['content'];
    const key =
      'modulesContent' in content ? 'modulesContent' : 'moduleContent' in content ? 'moduleContent' : '';
    if (key === '') {
      issues.add(
        ['content', 'modulesContent'],
        'required',
        'required property missing (an IoT Edge configuration)',
      );
      return undefined;
    }
    const mc = r.object(content[key], ['content', key]);
    return mc && locateModulesContent(mc, ['content', key], 'configuration', r);
  }
  const props = json['properties'];
  if (isObject(props) && isObject(props['desired'])) {
    const desired = props['desired'];
    return {
      form: 'edgeAgentTwin',
      edgeAgent: { value: stripTwinMetadata(desired), path: ['properties', 'desired'] },
      moduleTwins: [],
    };
  }
  if ('routes' in json && !EDGE_AGENT_KEYS.slice(1).some((k) => k in json)) {
    issues.add(
      [],
      'form',
      'these are $edgeHub desired properties, not a deployment (use parseEdgeHubDesired)',
    );
    return undefined;
  }
  if (EDGE_AGENT_KEYS.some((k) => k in json)) {
    return {
      form: 'edgeAgentTwin',
      edgeAgent: { value: stripTwinMetadata(json), path: [] },
      moduleTwins: [],
    };
  }
  issues.add(
    [],
    'form',
    'not a deployment: expected {"modulesContent": …}, an IoT Hub configuration {"content": {"modulesContent": …}} ' +
      'or the $edgeAgent desired properties {"schemaVersion", "runtime", "systemModules", "modules"}',
  );
  return undefined;
}

function locateModulesContent(
  mc: Json,
  path: PathSegment[],
  form: DeploymentForm,
  r: Reader,
): LocatedDeployment | undefined {
  const located: LocatedDeployment = { form, modulesContent: { value: mc, path }, moduleTwins: [] };
  const desiredOf = (key: string): { value: Json; path: PathSegment[] } | undefined => {
    const twin = r.requiredObject(mc, key, path);
    if (!twin) return undefined;
    r.knownKeys(twin, ['properties.desired'], [...path, key]);
    const desired = r.requiredObject(twin, 'properties.desired', [...path, key]);
    return desired && { value: desired, path: [...path, key, 'properties.desired'] };
  };
  for (const key of Object.keys(mc)) {
    if (key === '$edgeAgent') located.edgeAgent = desiredOf(key);
    else if (key === '$edgeHub') located.edgeHub = desiredOf(key);
    else if (checkModuleName(key, [...path, key], r.issues)) {
      const twin = desiredOf(key);
      if (twin) located.moduleTwins.push({ name: key, ...twin });
    }
  }
  if (!('$edgeAgent' in mc)) desiredOf('$edgeAgent');
  if (!('$edgeHub' in mc)) desiredOf('$edgeHub');
  return located;
}

/** The non-throwing core of parseDeployment: the value when the input is valid, and every issue found. */
export function readDeployment(json: unknown): {
  value?: ParsedDeployment;
  located?: LocatedDeployment;
  issues: ManifestIssue[];
} {
  const issues = new IssueList();
  const located = locateDeployment(json, issues);
  if (!located) return { issues: issues.items };

  let edgeAgent: EdgeAgentDesired | undefined;
  if (located.edgeAgent) {
    const { value, path } = located.edgeAgent;
    edgeAgent = readEdgeAgentDesired(value, path, issues);
    checkTwinLimits(value, path, '$edgeAgent', issues);
  }
  let edgeHub: EdgeHubDesired | undefined;
  if (located.edgeHub) {
    const { value, path } = located.edgeHub;
    edgeHub = readEdgeHubDesired(value, path, issues);
    checkTwinLimits(value, path, '$edgeHub', issues);
  }
  const moduleTwins: Record<string, ModuleTwinDesired> = {};
  for (const twin of located.moduleTwins) {
    checkTwinLimits(twin.value, twin.path, `module '${twin.name}'`, issues);
    moduleTwins[twin.name] = twin.value;
  }

  const complete = located.form === 'edgeAgentTwin' ? edgeAgent : edgeAgent && edgeHub;
  if (!issues.empty || !complete || !edgeAgent) return { located, issues: issues.items };
  return {
    located,
    issues: [],
    value: { form: located.form, edgeAgent, ...(edgeHub && { edgeHub }), moduleTwins },
  };
}

/**
 * Parses a deployment in any accepted shape into the normalized value: createOptions joined into objects,
 * env as plain records, routes as a list, defaults filled in. Throws ManifestError (code MANIFEST_INVALID,
 * exit 2) listing every problem with its JSONPath and rule. Does not apply the official JSON schema;
 * validateDeployment does both.
 */
export function parseDeployment(json: unknown): ParsedDeployment {
  const { value, issues } = readDeployment(json);
  throwIfIssues(issues);
  if (!value) throw new Error('readDeployment returned neither a value nor issues');
  return value;
}

/** Parses the `$edgeAgent` module twin's desired properties (twin metadata keys ignored). */
export function parseEdgeAgentDesired(json: unknown): EdgeAgentDesired {
  const issues = new IssueList();
  const raw = new Reader(issues).object(json, []);
  const value = raw && stripTwinMetadata(raw);
  const agent = value && readEdgeAgentDesired(value, [], issues);
  if (value) checkTwinLimits(value, [], '$edgeAgent', issues);
  throwIfIssues(issues.items);
  if (!agent) throw new Error('readEdgeAgentDesired returned neither a value nor issues');
  return agent;
}

/** Parses the `$edgeHub` module twin's desired properties (twin metadata keys ignored). */
export function parseEdgeHubDesired(json: unknown): EdgeHubDesired {
  const issues = new IssueList();
  const raw = new Reader(issues).object(json, []);
  const value = raw && stripTwinMetadata(raw);
  const hub = value && readEdgeHubDesired(value, [], issues);
  if (value) checkTwinLimits(value, [], '$edgeHub', issues);
  throwIfIssues(issues.items);
  if (!hub) throw new Error('readEdgeHubDesired returned neither a value nor issues');
  return hub;
}
