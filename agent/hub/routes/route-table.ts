/**
 * The compiled `$edgeHub` routes, and which endpoints a module's message goes to. A message
 * matched by several routes to the same endpoint is stored once there, with the highest priority
 * of those routes (and that route's TTL), as edgeHub does.
 */
import type { EdgeHubDesired } from '../../../manifests/types.js';
import { DEFAULT_PRIORITY, moduleInputEndpoint, UPSTREAM_ENDPOINT } from '../../upstream/message.js';
import { type Condition, evaluate, type MessageView } from './condition.js';
import { type RouteIssue, RouteSyntaxError, RoutesError } from './errors.js';
import { parseRoute, type Sink, type SourcePattern } from './route-parser.js';

export interface CompiledRoute {
  name: string;
  text: string;
  source: SourcePattern;
  condition: Condition | undefined;
  sink: Sink;
  priority: number;
  /** The route's own TTL or the store-and-forward one; 0 = no time limit. */
  timeToLiveSecs: number;
}

export interface RouteTable {
  readonly routes: readonly CompiledRoute[];
}

export interface MessageOrigin {
  moduleId: string;
  outputName: string | undefined;
}

export interface RouteTarget {
  endpoint: string;
  priority: number;
  timeToLiveSecs: number;
  route: string;
}

export const EMPTY_ROUTE_TABLE: RouteTable = { routes: [] };

/** Compiles every route or throws one RoutesError listing each that does not parse. */
export function compileRoutes(
  desired: Pick<EdgeHubDesired, 'routes' | 'storeAndForwardConfiguration'>,
): RouteTable {
  const issues: RouteIssue[] = [];
  const routes: CompiledRoute[] = [];
  const globalTtl = desired.storeAndForwardConfiguration.timeToLiveSecs;
  for (const r of desired.routes) {
    try {
      const parsed = parseRoute(r.route);
      routes.push({
        name: r.name,
        text: r.route,
        ...parsed,
        priority: r.priority ?? DEFAULT_PRIORITY,
        // A route TTL of 0 means "not given" in edgeHub: the store-and-forward TTL applies.
        timeToLiveSecs: r.timeToLiveSecs !== undefined && r.timeToLiveSecs > 0 ? r.timeToLiveSecs : globalTtl,
      });
    } catch (e) {
      if (!(e instanceof RouteSyntaxError)) throw e;
      issues.push({ route: r.name, text: r.route, position: e.position, message: e.message });
    }
  }
  if (issues.length > 0) throw new RoutesError(issues);
  return { routes };
}

export function matchesSource(source: SourcePattern, origin: MessageOrigin): boolean {
  switch (source.kind) {
    case 'allMessages':
    case 'allModules':
      return true;
    case 'module':
      return origin.moduleId === source.moduleId;
    case 'anyOutput':
      return origin.moduleId === source.moduleId && origin.outputName !== undefined;
    case 'output':
      return origin.moduleId === source.moduleId && origin.outputName === source.output;
    case 'twinChangeNotifications':
      return false;
  }
}

export function sinkEndpoint(sink: Sink): string {
  return sink.kind === 'upstream' ? UPSTREAM_ENDPOINT : moduleInputEndpoint(sink.moduleId, sink.input);
}

/** Where a module's message goes: one target per endpoint; none when no route matches. */
export function routeMessage(table: RouteTable, origin: MessageOrigin, view: MessageView): RouteTarget[] {
  const byEndpoint = new Map<string, RouteTarget>();
  for (const route of table.routes) {
    if (!matchesSource(route.source, origin)) continue;
    if (route.condition && !evaluate(route.condition, view)) continue;
    const endpoint = sinkEndpoint(route.sink);
    const current = byEndpoint.get(endpoint);
    if (current && current.priority <= route.priority) continue;
    byEndpoint.set(endpoint, {
      endpoint,
      priority: route.priority,
      timeToLiveSecs: route.timeToLiveSecs,
      route: route.name,
    });
  }
  return [...byEndpoint.values()];
}

/** Module-input endpoints the table can send to (their senders run while the table is in force). */
export function moduleEndpoints(table: RouteTable): string[] {
  return [
    ...new Set(table.routes.filter((r) => r.sink.kind === 'moduleInput').map((r) => sinkEndpoint(r.sink))),
  ];
}
