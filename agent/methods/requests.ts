/**
 * Request shapes of edgeAgent's built-in direct methods, checked: `RestartModule {schemaVersion, id}`
 * and `GetModuleLogs {schemaVersion, items: [{id, filter: {tail, since, until, loglevel, regex}}],
 * encoding, contentType}`. Pure; a bad request throws MethodError (HTTP-like status 400).
 */
import { ModelportError } from '../../common/errors.js';

export class MethodError extends ModelportError {
  constructor(status: number, code: string, message: string) {
    super(code, message, { httpStatus: status });
  }
}

export function isMethodError(e: unknown): e is MethodError {
  return e instanceof MethodError;
}

const bad = (message: string) => new MethodError(400, 'METHOD_BAD_REQUEST', message);
const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function checkSchemaVersion(payload: Record<string, unknown>): void {
  const v = payload['schemaVersion'];
  if (v === undefined) return;
  if (typeof v !== 'string' || !/^1(\.\d+)?$/.test(v)) {
    throw bad(`schemaVersion ${JSON.stringify(v)} is not supported (use "1.0")`);
  }
}

export interface RestartModuleRequest {
  id: string;
}

export function parseRestartModule(payload: unknown): RestartModuleRequest {
  if (!isObject(payload)) throw bad('RestartModule expects {"schemaVersion": "1.0", "id": "<module name>"}');
  checkSchemaVersion(payload);
  const id = payload['id'];
  if (typeof id !== 'string' || id === '')
    throw bad('RestartModule needs "id", the name of the module to restart');
  return { id };
}

export interface LogFilter {
  tail?: number;
  /** Unix seconds. */
  since?: number;
  until?: number;
  loglevel?: number;
  regex?: RegExp;
}

export interface LogsRequest {
  items: { id: RegExp; idText: string; filter: LogFilter }[];
  encoding: 'none' | 'gzip';
  contentType: 'text' | 'json';
}

const UNITS: Record<string, number> = {
  s: 1,
  sec: 1,
  second: 1,
  seconds: 1,
  secs: 1,
  m: 60,
  min: 60,
  mins: 60,
  minute: 60,
  minutes: 60,
  h: 3600,
  hour: 3600,
  hours: 3600,
  hr: 3600,
  hrs: 3600,
  d: 86400,
  day: 86400,
  days: 86400,
  w: 604800,
  week: 604800,
  weeks: 604800,
};

/**
 * `since`/`until` as IoT Edge takes them: unix seconds, an RFC 3339 time, or a duration before now
 * (`90m`, `1d`, `2 days 3 hours 2 minutes`). Returns unix seconds.
 */
export function parseLogTime(value: unknown, nowMs: number, field: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.floor(value);
  if (typeof value !== 'string' || value.trim() === '')
    throw bad(`filter.${field} must be a time or a duration`);
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const durations = [...text.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]+)/gi)];
  const consumed = durations
    .map((d) => d[0])
    .join('')
    .replace(/\s/g, '');
  if (durations.length > 0 && consumed === text.replace(/\s/g, '')) {
    let seconds = 0;
    for (const [, amount, unit] of durations) {
      const factor = UNITS[(unit ?? '').toLowerCase()];
      if (factor === undefined) throw bad(`filter.${field}: unknown time unit '${unit}'`);
      seconds += Number(amount) * factor;
    }
    return Math.floor(nowMs / 1000 - seconds);
  }
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw bad(`filter.${field}: '${text}' is neither a time nor a duration`);
  return Math.floor(ms / 1000);
}

function parseRegex(value: unknown, what: string): RegExp {
  if (typeof value !== 'string') throw bad(`${what} must be a regular expression string`);
  try {
    return new RegExp(value);
  } catch (e) {
    throw bad(`${what} is not a valid regular expression: ${(e as Error).message}`);
  }
}

function parseFilter(value: unknown, nowMs: number): LogFilter {
  if (value === undefined) return {};
  if (!isObject(value)) throw bad('filter must be an object');
  const filter: LogFilter = {};
  const tail = value['tail'];
  if (tail !== undefined) {
    if (typeof tail !== 'number' || !Number.isInteger(tail) || tail < 0)
      throw bad('filter.tail must be a whole number');
    filter.tail = tail;
  }
  if (value['since'] !== undefined) filter.since = parseLogTime(value['since'], nowMs, 'since');
  if (value['until'] !== undefined) filter.until = parseLogTime(value['until'], nowMs, 'until');
  const level = value['loglevel'];
  if (level !== undefined) {
    if (typeof level !== 'number' || !Number.isInteger(level) || level < 0 || level > 7) {
      throw bad('filter.loglevel must be a syslog severity, 0 to 7');
    }
    filter.loglevel = level;
  }
  if (value['regex'] !== undefined) filter.regex = parseRegex(value['regex'], 'filter.regex');
  return filter;
}

export function parseGetModuleLogs(payload: unknown, nowMs: number): LogsRequest {
  if (!isObject(payload))
    throw bad('GetModuleLogs expects {"schemaVersion": "1.0", "items": [{"id": …, "filter": {…}}]}');
  checkSchemaVersion(payload);
  const items = payload['items'];
  if (!Array.isArray(items) || items.length === 0) throw bad('GetModuleLogs needs a non-empty "items" array');
  const encoding = payload['encoding'] ?? 'none';
  if (encoding !== 'none' && encoding !== 'gzip') throw bad('encoding must be "none" or "gzip"');
  const contentType = payload['contentType'] ?? 'text';
  if (contentType !== 'text' && contentType !== 'json') throw bad('contentType must be "text" or "json"');
  return {
    encoding,
    contentType,
    items: items.map((item, i) => {
      if (!isObject(item)) throw bad(`items[${i}] must be an object with "id"`);
      return {
        id: parseRegex(item['id'], `items[${i}].id`),
        idText: String(item['id']),
        filter: parseFilter(item['filter'], nowMs),
      };
    }),
  };
}
