import { dedupeIssues, ManifestError } from './errors.js';
import { readDeployment } from './parse.js';
import { OfficialSchemaValidator } from './schema-validate.js';
import type { ParsedDeployment } from './types.js';

/**
 * The strict check (`modelport manifest validate`, and cloud/ before it deploys): the official IoT Edge
 * schema AND modelport's semantic checks. Returns the normalized deployment, or throws one ManifestError
 * listing every problem from both, each with its JSONPath and rule (where both find the same path and
 * rule, modelport's more specific message is kept).
 */
export function validateDeployment(
  json: unknown,
  validator: OfficialSchemaValidator = new OfficialSchemaValidator(),
): ParsedDeployment {
  const parsed = readDeployment(json);
  const issues = dedupeIssues([...parsed.issues, ...validator.validate(json)]);
  if (issues.length > 0) throw new ManifestError(issues);
  if (!parsed.value) throw new Error('readDeployment returned neither a value nor issues');
  return parsed.value;
}
