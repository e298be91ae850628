/**
 * How IoT Hub combines IoT Edge deployments for one device (pure, no I/O):
 * - a *base* deployment sets a module's whole desired document (`"properties.desired": {…}`); a
 *   *layered* one sets paths inside it (`"properties.desired.modules.scoring": {…}`). A deployment
 *   is layered when its `$edgeAgent` section has no whole `properties.desired`.
 * - of the base deployments targeting a device, the highest priority wins (on a tie, the most
 *   recently created); every layered deployment targeting the device is applied on top, lowest
 *   priority first, so a higher priority wins where two layers set the same path.
 */
import { badRequest } from './errors.js';
import { isJsonObject, type JsonObject, setAtPath } from './json-doc.js';

export interface DeploymentCandidate {
  readonly id: string;
  readonly priority: number;
  /** Creation order, for ties in priority. */
  readonly createdSequence: number;
  readonly modulesContent: JsonObject;
}

export interface DeploymentChoice {
  base: DeploymentCandidate | undefined;
  /** In application order (lowest priority first). */
  layers: DeploymentCandidate[];
}

const WHOLE_DESIRED = 'properties.desired';

export function isLayered(modulesContent: JsonObject): boolean {
  const agent = modulesContent.$edgeAgent;
  return !(isJsonObject(agent) && WHOLE_DESIRED in agent);
}

export function chooseDeployments(targeting: readonly DeploymentCandidate[]): DeploymentChoice {
  const byPriority = (a: DeploymentCandidate, b: DeploymentCandidate) =>
    a.priority - b.priority || a.createdSequence - b.createdSequence;
  const bases = targeting.filter((d) => !isLayered(d.modulesContent)).sort(byPriority);
  const layers = targeting.filter((d) => isLayered(d.modulesContent)).sort(byPriority);
  return { base: bases.at(-1), layers };
}

/** The desired document of every module named by the chosen deployments. */
export function mergeDeployments(choice: DeploymentChoice): Map<string, JsonObject> {
  const result = new Map<string, JsonObject>();
  const apply = (modulesContent: JsonObject) => {
    for (const [moduleId, section] of Object.entries(modulesContent)) {
      if (!isJsonObject(section)) continue;
      result.set(moduleId, applyModuleSection(result.get(moduleId) ?? {}, section));
    }
  };
  if (choice.base) apply(choice.base.modulesContent);
  for (const layer of choice.layers) apply(layer.modulesContent);
  return result;
}

/** Applies one module's section: the whole document first, then the paths, in key order. */
export function applyModuleSection(current: JsonObject, section: JsonObject): JsonObject {
  let desired = current;
  const whole = section[WHOLE_DESIRED];
  if (whole !== undefined) desired = setAtPath({}, [], whole);
  for (const [key, value] of Object.entries(section)) {
    if (key === WHOLE_DESIRED) continue;
    desired = setAtPath(desired, desiredPath(key), value);
  }
  return desired;
}

/** `properties.desired.modules.scoring` → `['modules', 'scoring']`; anything else is not allowed. */
export function desiredPath(key: string): string[] {
  if (!key.startsWith(`${WHOLE_DESIRED}.`)) {
    throw badRequest(
      `Module content key '${key}' must be 'properties.desired' or start with 'properties.desired.'`,
    );
  }
  const path = key.slice(WHOLE_DESIRED.length + 1).split('.');
  if (path.some((step) => step.length === 0))
    throw badRequest(`Module content key '${key}' has an empty segment`);
  return path;
}
