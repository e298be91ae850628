/**
 * A small HTTP router for IoT Hub's service REST API on node's http module: path templates,
 * `api-version` check, service SAS authorization with policy rights, JSON bodies, IoT Hub's error
 * shape, and a log of every request (so tests see which routes and api-versions the SDK called).
 * Unknown routes answer 404 with IoT Hub's error body, so a route the emulator lacks is visible.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, HubError, isHubError, restErrorBody, unauthorized } from './errors.js';
import type { AccessPolicy, PolicyRight } from './identity-store.js';
import { parseSasToken, verifySasToken } from './sas.js';

export interface RestRequest {
  readonly method: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

export interface RestResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Route {
  readonly method: 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE';
  /** Segments, `:name` for a parameter, e.g. `/twins/:deviceId/modules/:moduleId`. */
  readonly path: string;
  readonly right: PolicyRight;
  handle(req: RestRequest): RestResponse | Promise<RestResponse>;
}

export interface RequestLogEntry {
  readonly method: string;
  readonly path: string;
  readonly apiVersion: string | null;
  /** The route template that answered, or null for an unknown route. */
  readonly route: string | null;
  readonly status: number;
}

export interface RouterOptions {
  routes: readonly Route[];
  hostName(): string;
  policies: ReadonlyMap<string, AccessPolicy>;
  apiVersions: ReadonlySet<string>;
  now(): Date;
  log: RequestLogEntry[];
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

export function createRestHandler(
  options: RouterOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const compiled = options.routes.map((route) => ({ route, segments: splitPath(route.path) }));

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'https://hub.invalid');
    const method = req.method ?? 'GET';
    const apiVersion = url.searchParams.get('api-version');
    let routeName: string | null = null;
    const finish = (response: RestResponse) => {
      options.log.push({ method, path: url.pathname, apiVersion, route: routeName, status: response.status });
      const payload = response.body === undefined ? '' : JSON.stringify(response.body);
      res.writeHead(response.status, {
        ...(payload ? { 'Content-Type': 'application/json; charset=utf-8' } : {}),
        'Content-Length': Buffer.byteLength(payload),
        ...response.headers,
      });
      res.end(payload);
    };
    const fail = (e: unknown) => {
      const error = isHubError(e)
        ? e
        : new HubError(
            500,
            'ServerError',
            `The emulator failed: ${e instanceof Error ? e.message : String(e)}`,
          );
      finish({ status: error.httpStatus, body: restErrorBody(error, options.now()) });
    };

    readBody(req)
      .then(async (raw) => {
        const segments = splitPath(url.pathname);
        const match = findRoute(compiled, method, segments);
        routeName = match?.route.path ?? null;
        authorize(options, req.headers.authorization, match?.route.right);
        if (!match) {
          throw new HubError(
            404,
            'NotFound',
            `${method} ${url.pathname} is not a route of IoT Hub's service API here`,
          );
        }
        if (apiVersion === null) throw new HubError(400, 'InvalidProtocolVersion', 'api-version is required');
        if (!options.apiVersions.has(apiVersion)) {
          throw new HubError(400, 'InvalidProtocolVersion', `api-version '${apiVersion}' is not supported`);
        }
        const body = parseBody(raw, req.headers['content-type']);
        finish(
          await match.route.handle({
            method,
            params: match.params,
            query: url.searchParams,
            headers: req.headers,
            body,
          }),
        );
      })
      .catch(fail);
  };
}

function authorize(options: RouterOptions, header: string | undefined, right: PolicyRight | undefined): void {
  if (!header) throw unauthorized('Unauthorized: no Authorization header');
  const parsed = parseSasToken(header);
  if (!parsed.ok) throw unauthorized(`Unauthorized: ${parsed.reason}`);
  const policy = parsed.token.skn === undefined ? undefined : options.policies.get(parsed.token.skn);
  if (!policy) throw unauthorized(`Unauthorized: no shared access policy '${parsed.token.skn ?? ''}'`);
  const check = verifySasToken(parsed.token, {
    resource: options.hostName(),
    keys: [policy.primaryKey, policy.secondaryKey],
    nowMs: Date.now(),
  });
  if (!check.ok) throw unauthorized(`Unauthorized: ${check.reason}`);
  if (right && !policy.rights.includes(right)) {
    throw unauthorized(`Unauthorized: policy '${policy.name}' lacks the ${right} permission`);
  }
}

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

function findRoute(
  compiled: { route: Route; segments: string[] }[],
  method: string,
  rawSegments: string[],
): { route: Route; params: Record<string, string> } | undefined {
  let segments: string[];
  try {
    segments = rawSegments.map((s) => decodeURIComponent(s));
  } catch {
    // A malformed percent-escape names no route.
    return undefined;
  }
  for (const { route, segments: template } of compiled) {
    if (route.method !== method || template.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const ok = template.every((t, i) => {
      const actual = segments[i] as string;
      if (t.startsWith(':')) {
        params[t.slice(1)] = actual;
        return true;
      }
      return t === actual;
    });
    if (ok) return { route, params };
  }
  return undefined;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(
          new HubError(413, 'RequestEntityTooLarge', `The request body is over ${MAX_BODY_BYTES} bytes`),
        );
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  if (contentType && !contentType.includes('application/json')) {
    throw badRequest(`Content-Type must be application/json, not '${contentType}'`);
  }
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw badRequest(`The body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The `If-Match` header, if any. */
export function ifMatchOf(req: RestRequest): string | undefined {
  const value = req.headers['if-match'];
  return Array.isArray(value) ? value[0] : value;
}
