/** Reads `$edgeHub` desired properties (wire shape) into the normalized EdgeHubDesired. */
import type { IssueList, PathSegment } from './errors.js';
import { isObject, type Json, Reader, typeName } from './read-helpers.js';
import { TWIN_NAME_PATTERN } from './semantic-checks.js';
import {
  DEFAULT_STORE_AND_FORWARD_TTL_SECS,
  EDGE_HUB_SCHEMA_VERSIONS,
  type EdgeHubDesired,
  type Route,
} from './types.js';

export const MAX_ROUTE_PRIORITY = 9;
export const MAX_TIME_TO_LIVE_SECS = 4294967295;

export function readEdgeHubDesired(
  raw: Json,
  path: readonly PathSegment[],
  issues: IssueList,
): EdgeHubDesired | undefined {
  const r = new Reader(issues);
  const before = issues.items.length;
  r.knownKeys(raw, ['schemaVersion', 'routes', 'storeAndForwardConfiguration', 'mqttBroker'], path);

  const schemaVersion = r.requiredString(raw, 'schemaVersion', path);
  if (
    schemaVersion !== undefined &&
    !(EDGE_HUB_SCHEMA_VERSIONS as readonly string[]).includes(schemaVersion)
  ) {
    issues.add(
      [...path, 'schemaVersion'],
      'schema-version',
      `$edgeHub schemaVersion must be one of ${EDGE_HUB_SCHEMA_VERSIONS.join(', ')}; got '${schemaVersion}'`,
    );
  }

  const routes: Route[] = [];
  const routesPath = [...path, 'routes'];
  for (const [name, value] of Object.entries(r.requiredObject(raw, 'routes', path) ?? {})) {
    const route = readRoute(name, value, [...routesPath, name], schemaVersion, r);
    if (route) routes.push(route);
  }

  let timeToLiveSecs: number | undefined = DEFAULT_STORE_AND_FORWARD_TTL_SECS;
  const sfPath = [...path, 'storeAndForwardConfiguration'];
  const sf = r.optionalObject(raw, 'storeAndForwardConfiguration', path);
  if (sf) {
    r.knownKeys(sf, ['timeToLiveSecs'], sfPath);
    if (sf['timeToLiveSecs'] === undefined)
      issues.add([...sfPath, 'timeToLiveSecs'], 'required', 'required property missing');
    timeToLiveSecs = r.integer(sf, 'timeToLiveSecs', 0, MAX_TIME_TO_LIVE_SECS, sfPath);
  }

  let mqttBroker: Record<string, unknown> | undefined;
  if (raw['mqttBroker'] !== undefined) {
    mqttBroker = r.object(raw['mqttBroker'], [...path, 'mqttBroker']);
    if (schemaVersion !== undefined && schemaVersion !== '1.2') {
      issues.add([...path, 'mqttBroker'], 'schema-version', 'mqttBroker needs $edgeHub schemaVersion 1.2');
    }
  }

  if (issues.items.length > before || schemaVersion === undefined || timeToLiveSecs === undefined)
    return undefined;
  return {
    schemaVersion,
    routes,
    storeAndForwardConfiguration: { timeToLiveSecs },
    ...(mqttBroker !== undefined && { mqttBroker }),
  };
}

function readRoute(
  name: string,
  value: unknown,
  path: readonly PathSegment[],
  schemaVersion: string | undefined,
  r: Reader,
): Route | undefined {
  if (!TWIN_NAME_PATTERN.test(name)) {
    r.issues.add(path, 'additionalProperties', "route names may not contain '.', '$', '#' or spaces");
    return undefined;
  }
  if (typeof value === 'string') {
    if (value.trim() === '') {
      r.issues.add(path, 'pattern', 'route must not be empty');
      return undefined;
    }
    return { name, route: value };
  }
  if (!isObject(value)) {
    r.issues.add(
      path,
      'anyOf',
      `a route is a string or an object {route, priority?, timeToLiveSecs?}, not ${typeName(value)}`,
    );
    return undefined;
  }
  if (schemaVersion === '1.0') {
    r.issues.add(
      path,
      'route-form',
      'routes written as objects (with priority/timeToLiveSecs) need $edgeHub schemaVersion 1.1 or later',
    );
  }
  r.knownKeys(value, ['route', 'priority', 'timeToLiveSecs'], path);
  const route = r.requiredString(value, 'route', path);
  if (route !== undefined && route.trim() === '')
    r.issues.add([...path, 'route'], 'pattern', 'route must not be empty');
  const priority = r.integer(value, 'priority', 0, MAX_ROUTE_PRIORITY, path);
  const timeToLiveSecs = r.integer(value, 'timeToLiveSecs', 0, MAX_TIME_TO_LIVE_SECS, path);
  if (route === undefined) return undefined;
  return {
    name,
    route,
    ...(priority !== undefined && { priority }),
    ...(timeToLiveSecs !== undefined && { timeToLiveSecs }),
  };
}
