/**
 * edgeAgent's built-in direct methods: `ping` → 200 null; `RestartModule` → 200 null (404 for a module
 * not in the deployment); `GetModuleLogs` → 200 with `[{id, payload}]` (`payloadBytes`, base64, when
 * gzipped), truncated to IoT Hub's 128 KB method response limit. Errors answer `{message}` with a
 * 4xx/5xx status, as edgeAgent does.
 */
import { gzipSync } from 'node:zlib';
import { messageOf } from '../../common/errors.js';
import type { LogLine, LogQuery } from '../runtime/docker-adapter.js';
import {
  isMethodError,
  type LogFilter,
  MethodError,
  parseGetModuleLogs,
  parseRestartModule,
} from './requests.js';

export const METHOD_NAMES = ['ping', 'RestartModule', 'GetModuleLogs'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

export interface MethodResponse {
  status: number;
  payload: unknown;
}

export interface MethodDeps {
  /** Modules of the deployment being run. */
  moduleNames(): string[];
  restartModule(name: string): Promise<void>;
  /** The module's container log lines (with timestamps), or undefined when it has no container. */
  moduleLogs(name: string, query: LogQuery): Promise<LogLine[] | undefined>;
  now(): number;
}

/** IoT Hub's direct method payload limit is 128 KB; keep 1 KB for the envelope, as edgeAgent does. */
export const MAX_LOGS_PAYLOAD_BYTES = 127 * 1024;

const SYSTEM_MODULES = new Set(['edgeAgent', 'edgeHub', '$edgeAgent', '$edgeHub']);

export async function handleMethod(
  name: string,
  payload: unknown,
  deps: MethodDeps,
): Promise<MethodResponse> {
  try {
    switch (name as MethodName) {
      case 'ping':
        return { status: 200, payload: null };
      case 'RestartModule':
        return await restartModule(payload, deps);
      case 'GetModuleLogs':
        return { status: 200, payload: await getModuleLogs(payload, deps) };
      default:
        return {
          status: 501,
          payload: { message: `method '${name}' is not implemented by modelport-agent` },
        };
    }
  } catch (e) {
    if (isMethodError(e)) return { status: e.httpStatus, payload: { message: e.message } };
    return { status: 500, payload: { message: messageOf(e) } };
  }
}

async function restartModule(payload: unknown, deps: MethodDeps): Promise<MethodResponse> {
  const { id } = parseRestartModule(payload);
  if (SYSTEM_MODULES.has(id)) {
    throw new MethodError(
      400,
      'METHOD_BAD_REQUEST',
      `'${id}' is played by modelport-agent itself; restart the agent instead`,
    );
  }
  if (!deps.moduleNames().includes(id)) {
    throw new MethodError(404, 'MODULE_NOT_FOUND', `module '${id}' is not in the current deployment`);
  }
  await deps.restartModule(id);
  return { status: 200, payload: null };
}

/** edgeAgent's default level for lines without a `<N>` syslog prefix: 6 (informational). */
const DEFAULT_LEVEL = 6;

export function logLevelOf(text: string): number {
  const m = /^<([0-7])>/.exec(text);
  return m ? Number(m[1]) : DEFAULT_LEVEL;
}

export function filterLines(lines: readonly LogLine[], filter: LogFilter): LogLine[] {
  let out = lines.filter(
    (l) =>
      (filter.loglevel === undefined || logLevelOf(l.text) <= filter.loglevel) &&
      (filter.regex === undefined || filter.regex.test(l.text)),
  );
  // Docker applied tail before the regex and level filters; apply it again to what is left.
  if (filter.tail !== undefined) out = out.slice(Math.max(0, out.length - filter.tail));
  return out;
}

function render(module: string, lines: LogLine[], contentType: 'text' | 'json'): string {
  if (contentType === 'text') return lines.map((l) => l.text).join('\n');
  return JSON.stringify(
    lines.map((l) => ({
      moduleId: module,
      stream: l.stream,
      logLevel: logLevelOf(l.text),
      timeStamp: l.time,
      text: l.text,
    })),
  );
}

async function getModuleLogs(payload: unknown, deps: MethodDeps): Promise<unknown[]> {
  const request = parseGetModuleLogs(payload, deps.now());
  const names = deps.moduleNames();
  const results: { id: string; lines: LogLine[] }[] = [];
  for (const item of request.items) {
    for (const name of names) {
      if (!item.id.test(name) || results.some((r) => r.id === name)) continue;
      const { tail, since, until } = item.filter;
      // With a regex or level filter, tail applies to the filtered lines: read everything in range.
      const filtering = item.filter.regex !== undefined || item.filter.loglevel !== undefined;
      const lines = await deps.moduleLogs(name, {
        timestamps: true,
        ...(tail !== undefined && !filtering && { tail }),
        ...(since !== undefined && { since }),
        ...(until !== undefined && { until }),
      });
      if (lines) results.push({ id: name, lines: filterLines(lines, item.filter) });
    }
  }
  return fitToLimit(results, request.contentType, request.encoding);
}

/** Drops the oldest lines of the largest answer until the whole response fits the method limit. */
function fitToLimit(
  results: { id: string; lines: LogLine[] }[],
  contentType: 'text' | 'json',
  encoding: 'none' | 'gzip',
): unknown[] {
  const build = () =>
    results.map((r) => {
      const text = render(r.id, r.lines, contentType);
      return encoding === 'gzip'
        ? { id: r.id, payloadBytes: gzipSync(text).toString('base64') }
        : { id: r.id, payload: text };
    });
  let response = build();
  while (Buffer.byteLength(JSON.stringify(response)) > MAX_LOGS_PAYLOAD_BYTES) {
    const largest = results.reduce((a, b) => (b.lines.length > a.lines.length ? b : a));
    if (largest.lines.length === 0) break;
    largest.lines = largest.lines.slice(Math.ceil(largest.lines.length / 10));
    response = build();
  }
  return response;
}
