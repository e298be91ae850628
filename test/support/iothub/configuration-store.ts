/**
 * Configurations (IoT Hub automatic device management): IoT Edge deployments (`modulesContent`)
 * and device/module configurations, with IoT Hub's rules on create and update: ids, priority,
 * labels, a target condition that reads only tags, reported properties and deviceId, metric
 * queries that parse, content that fits in twins, etag / If-Match, and content that cannot change
 * once created.
 */
import { canonicalJson } from '../../../common/canonical-json.js';
import { applyModuleSection } from './deployment-merge.js';
import { badRequest, HubError, preconditionFailed } from './errors.js';
import { etagOf } from './identity-store.js';
import { isJsonObject, type Json, type JsonObject, validateTwinSection } from './json-doc.js';
import {
  type Condition,
  ConditionSyntaxError,
  conditionPaths,
  parseCondition,
  parseQuery,
  type Query,
} from './target-condition.js';

export interface ConfigurationContent {
  modulesContent?: JsonObject;
  moduleContent?: JsonObject;
  deviceContent?: JsonObject;
}

export interface ConfigurationRecord {
  readonly id: string;
  schemaVersion: string;
  labels: Record<string, string>;
  readonly content: ConfigurationContent;
  targetCondition: string;
  /** `undefined` for an empty target condition, which targets no device. */
  condition: Condition | undefined;
  priority: number;
  metricQueries: Record<string, string>;
  parsedMetricQueries: Map<string, Query>;
  readonly createdTimeUtc: string;
  lastUpdatedTimeUtc: string;
  revision: number;
  readonly createdSequence: number;
}

const ID_PATTERN = /^[a-z0-9\-:+%_#*?!(),=@;$']{1,128}$/;
const CONDITION_ROOTS = ['tags', 'properties.reported', 'deviceId'];

export const configurationNotFound = (id: string): HubError =>
  new HubError(404, 'ConfigurationNotFound', `Configuration '${id}' not found`);

export class ConfigurationStore {
  private readonly configurations = new Map<string, ConfigurationRecord>();
  private sequence = 0;

  constructor(private readonly now: () => Date) {}

  list(): ConfigurationRecord[] {
    return [...this.configurations.values()];
  }

  get(id: string): ConfigurationRecord | undefined {
    return this.configurations.get(id);
  }

  require(id: string): ConfigurationRecord {
    const config = this.configurations.get(id);
    if (!config) throw configurationNotFound(id);
    return config;
  }

  /** PUT /configurations/{id}: creates without If-Match, updates with it. */
  put(id: string, body: unknown, ifMatch: string | undefined): ConfigurationRecord {
    if (!ID_PATTERN.test(id)) {
      throw badRequest(
        `Configuration id '${id}' is invalid: up to 128 lowercase letters, digits and - : + % _ # * ? ! ( ) , = @ ; $ '`,
      );
    }
    if (!isJsonObject(body)) throw badRequest('The configuration must be a JSON object');
    if (body.id !== undefined && body.id !== id) {
      throw badRequest(`The configuration body names id '${String(body.id)}' but the URL names '${id}'`);
    }
    const existing = this.configurations.get(id);
    if (ifMatch === undefined) {
      if (existing) {
        throw new HubError(409, 'ConfigurationAlreadyExists', `Configuration '${id}' already exists`);
      }
      return this.create(id, body);
    }
    if (!existing) throw configurationNotFound(id);
    return this.update(existing, body, ifMatch);
  }

  delete(id: string, ifMatch: string | undefined): void {
    const config = this.require(id);
    checkConfigEtag(config, ifMatch);
    this.configurations.delete(id);
  }

  private create(id: string, body: JsonObject): ConfigurationRecord {
    const content = readContent(body.content);
    const now = this.now().toISOString();
    const fields = readMutableFields(body);
    const config: ConfigurationRecord = {
      id,
      schemaVersion: typeof body.schemaVersion === 'string' ? body.schemaVersion : '1.0',
      content,
      ...fields,
      createdTimeUtc: now,
      lastUpdatedTimeUtc: now,
      revision: 1,
      createdSequence: ++this.sequence,
    };
    this.configurations.set(id, config);
    return config;
  }

  private update(config: ConfigurationRecord, body: JsonObject, ifMatch: string): ConfigurationRecord {
    checkConfigEtag(config, ifMatch);
    if (
      body.content !== undefined &&
      canonicalJson(readContent(body.content)) !== canonicalJson(config.content)
    ) {
      throw badRequest(
        `The content of configuration '${config.id}' cannot be updated; only targetCondition, priority, labels and metrics can. Create a new configuration instead`,
      );
    }
    Object.assign(config, readMutableFields(body));
    config.lastUpdatedTimeUtc = this.now().toISOString();
    config.revision++;
    return config;
  }
}

function checkConfigEtag(config: ConfigurationRecord, ifMatch: string | undefined): void {
  if (ifMatch === undefined) return;
  const unquoted = ifMatch.trim().replace(/^"(.*)"$/, '$1');
  if (unquoted !== '*' && unquoted !== etagOf(config.revision)) {
    throw preconditionFailed(
      `Precondition failed: etag '${unquoted}' is not the current etag of '${config.id}'`,
    );
  }
}

function readMutableFields(
  body: JsonObject,
): Pick<
  ConfigurationRecord,
  'labels' | 'targetCondition' | 'condition' | 'priority' | 'metricQueries' | 'parsedMetricQueries'
> {
  const targetCondition = body.targetCondition ?? '';
  if (typeof targetCondition !== 'string') throw badRequest('targetCondition must be a string');
  const priority = body.priority ?? 0;
  if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 0) {
    throw badRequest(`priority must be a non-negative integer, not ${JSON.stringify(priority)}`);
  }
  return {
    labels: readStringMap(body.labels ?? {}, 'labels'),
    targetCondition,
    condition: parseTargetCondition(targetCondition),
    priority,
    ...readMetrics(body.metrics),
  };
}

/** Parses a target condition and checks it reads only what IoT Hub lets a target condition read. */
export function parseTargetCondition(text: string): Condition | undefined {
  if (text.trim() === '') return undefined;
  let condition: Condition;
  try {
    condition = parseCondition(text);
  } catch (e) {
    if (e instanceof ConditionSyntaxError)
      throw badRequest(`Invalid target condition '${text}': ${e.message}`);
    throw e;
  }
  for (const path of conditionPaths(condition)) {
    const dotted = path.join('.');
    if (!CONDITION_ROOTS.some((root) => dotted === root || dotted.startsWith(`${root}.`))) {
      throw badRequest(
        `Invalid target condition '${text}': '${dotted}' is not allowed; use tags, properties.reported or deviceId`,
      );
    }
  }
  return condition;
}

function readMetrics(
  value: Json | undefined,
): Pick<ConfigurationRecord, 'metricQueries' | 'parsedMetricQueries'> {
  const metricQueries: Record<string, string> = {};
  const parsedMetricQueries = new Map<string, Query>();
  if (value === undefined || value === null) return { metricQueries, parsedMetricQueries };
  if (!isJsonObject(value)) throw badRequest('metrics must be an object with a queries map');
  const queries = readStringMap(value.queries ?? {}, 'metrics.queries');
  for (const [name, text] of Object.entries(queries)) {
    try {
      parsedMetricQueries.set(name, parseQuery(text));
    } catch (e) {
      if (e instanceof ConditionSyntaxError) throw badRequest(`Invalid metric query '${name}': ${e.message}`);
      throw e;
    }
    metricQueries[name] = text;
  }
  return { metricQueries, parsedMetricQueries };
}

function readStringMap(value: Json, what: string): Record<string, string> {
  if (!isJsonObject(value)) throw badRequest(`${what} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw badRequest(`${what}.${k} must be a string`);
    out[k] = v;
  }
  return out;
}

function readContent(value: Json | undefined): ConfigurationContent {
  if (!isJsonObject(value))
    throw badRequest('content is required: { modulesContent } or deviceContent / moduleContent');
  const present = (['modulesContent', 'moduleContent', 'deviceContent'] as const).filter((k) => {
    const section = value[k];
    return isJsonObject(section) && Object.keys(section).length > 0;
  });
  if (present.length !== 1) {
    throw badRequest(
      'content must hold exactly one non-empty modulesContent, moduleContent or deviceContent',
    );
  }
  const kind = present[0] as 'modulesContent' | 'moduleContent' | 'deviceContent';
  const section = value[kind] as JsonObject;
  if (kind === 'modulesContent') {
    for (const [moduleId, moduleSection] of Object.entries(section)) {
      if (!isJsonObject(moduleSection)) throw badRequest(`modulesContent.${moduleId} must be an object`);
      // The module's desired document this content produces must itself be a valid twin section.
      validateTwinSection(`desired of ${moduleId}`, applyModuleSection({}, moduleSection), false);
    }
  }
  return { [kind]: section };
}
