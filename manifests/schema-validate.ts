/**
 * Validation against the official IoT Edge deployment JSON schemas (manifests/schemas, from SchemaStore).
 *
 * The schemas are draft-04 (`id`, not `$id`), so they are compiled with ajv-draft-04. They do not
 * reference each other, so all are registered by id and chosen by form and schemaVersion:
 * - a whole deployment (or a configuration's `content`) → azure-iot-edge-deployment-2.0.json, then its
 *   `$edgeAgent` part → azure-iot-edgeagent-deployment-1.1.json when schemaVersion is 1.1, and its
 *   `$edgeHub` part → azure-iot-edgehub-deployment-1.1/1.2.json by schemaVersion;
 * - the `$edgeAgent` desired properties alone → the `$edgeAgent` part of deployment-2.0 (and agent 1.1).
 * The JSON files are imported (not read from disk) so tsc copies them next to the compiled module.
 */
import AjvDraft04 from 'ajv-draft-04';
import { ajvErrorsToIssues } from './ajv-issues.js';
import { dedupeIssues, IssueList, type ManifestIssue, type PathSegment } from './errors.js';
import { locateDeployment } from './parse.js';
import deploymentSchema from './schemas/azure-iot-edge-deployment-2.0.json' with { type: 'json' };
import edgeAgent11Schema from './schemas/azure-iot-edgeagent-deployment-1.1.json' with { type: 'json' };
import edgeHub11Schema from './schemas/azure-iot-edgehub-deployment-1.1.json' with { type: 'json' };
import edgeHub12Schema from './schemas/azure-iot-edgehub-deployment-1.2.json' with { type: 'json' };

export const DEPLOYMENT_SCHEMA_ID = deploymentSchema.id;
export const EDGE_AGENT_11_SCHEMA_ID = edgeAgent11Schema.id;
export const EDGE_HUB_11_SCHEMA_ID = edgeHub11Schema.id;
export const EDGE_HUB_12_SCHEMA_ID = edgeHub12Schema.id;
const EDGE_AGENT_PART_OF_DEPLOYMENT = `${DEPLOYMENT_SCHEMA_ID}#/properties/modulesContent/properties/$edgeAgent`;

type AjvInstance = InstanceType<typeof AjvDraft04.default>;

/** Compiles the official schemas once; `validate` may then be called any number of times. */
export class OfficialSchemaValidator {
  private readonly ajv: AjvInstance;

  constructor() {
    this.ajv = new AjvDraft04.default({
      allErrors: true,
      verbose: true,
      allowUnionTypes: true, // env values are ["number", "string", "boolean"]
      keywords: ['examples', 'contentMediaType'], // annotations in these schemas, not assertions
    });
    for (const schema of [deploymentSchema, edgeAgent11Schema, edgeHub11Schema, edgeHub12Schema]) {
      this.ajv.addSchema(schema);
    }
  }

  /**
   * Validates `data` against schema `id` (or a `#/pointer` into it). `data` may wrap the part being
   * checked: `drop` leading path segments are removed from each error and `prefix` put in front.
   */
  private run(id: string, data: unknown, prefix: readonly PathSegment[] = [], drop = 0): ManifestIssue[] {
    const validate = this.ajv.getSchema(id);
    if (!validate) throw new Error(`official schema ${id} is not registered`);
    return validate(data) ? [] : ajvErrorsToIssues(validate.errors, data, prefix, drop);
  }

  /** Checks desired properties against a part schema `{<key>: {'properties.desired': …}}`. */
  private runPart(id: string, key: '$edgeAgent' | '$edgeHub', part: { value: unknown; path: PathSegment[] }) {
    return this.run(id, { [key]: { 'properties.desired': part.value } }, part.path, 2);
  }

  /**
   * Every way `json` (any form parseDeployment accepts) breaks the official schemas, as issues with
   * JSONPaths into `json`. Empty when it conforms.
   */
  validate(json: unknown): ManifestIssue[] {
    const located = locateDeployment(json, new IssueList());
    if (!located) return dedupeIssues(this.run(DEPLOYMENT_SCHEMA_ID, json));
    const { edgeAgent: agent, edgeHub: hub } = located;
    const issues: ManifestIssue[] = [];

    if (located.form === 'edgeAgentTwin') {
      if (agent) {
        const wrapped = { 'properties.desired': agent.value };
        issues.push(...this.run(EDGE_AGENT_PART_OF_DEPLOYMENT, wrapped, agent.path, 1));
      }
    } else if (located.modulesContent) {
      // A configuration is judged on its `content` part; a deployment as a whole (keys beside
      // modulesContent, like a template's `$schema-template`, break the schema's root).
      const [contentKey, mcKey] = located.modulesContent.path;
      const doc =
        located.form === 'configuration' && mcKey !== undefined
          ? { [mcKey]: located.modulesContent.value }
          : json;
      const prefix = located.form === 'configuration' && contentKey !== undefined ? [contentKey] : [];
      const hubIs12 = hub?.value['schemaVersion'] === '1.2';
      for (const issue of this.run(DEPLOYMENT_SCHEMA_ID, doc, prefix)) {
        // deployment-2.0 predates edgeHub 1.2's mqttBroker; the edgeHub 1.2 schema below judges it instead.
        const mqtt = issue.path.endsWith("$edgeHub['properties.desired'].mqttBroker");
        if (!(hubIs12 && mqtt && issue.rule === 'additionalProperties')) issues.push(issue);
      }
    }
    if (agent && agent.value['schemaVersion'] === '1.1') {
      issues.push(...this.runPart(EDGE_AGENT_11_SCHEMA_ID, '$edgeAgent', agent));
    }
    const hubVersion = hub?.value['schemaVersion'];
    const hubSchema =
      hubVersion === '1.1' ? EDGE_HUB_11_SCHEMA_ID : hubVersion === '1.2' ? EDGE_HUB_12_SCHEMA_ID : undefined;
    if (hub && hubSchema) issues.push(...this.runPart(hubSchema, '$edgeHub', hub));
    return dedupeIssues(issues);
  }
}

/**
 * Checks `json` against the official IoT Edge deployment schemas; returns the issues (empty when it
 * conforms). Pass a long-lived validator to avoid compiling the schemas on every call.
 */
export function validateAgainstOfficialSchema(
  json: unknown,
  validator: OfficialSchemaValidator = new OfficialSchemaValidator(),
): ManifestIssue[] {
  return validator.validate(json);
}
