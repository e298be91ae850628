/**
 * Parser of the Prometheus text exposition format (0.0.4), as prom-client and every exporter write
 * it: `# HELP`, `# TYPE`, samples `name{label="value",…} value [timestamp]` with escaped label values
 * (`\\`, `\"`, `\n`), NaN and ±Inf, and `_sum`/`_count`/`_bucket` samples grouped under their
 * summary or histogram family. Malformed lines are errors with their line number. Pure.
 */
import { UsageError } from '../../common/errors.js';

export type MetricType = 'counter' | 'gauge' | 'summary' | 'histogram' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestampMs?: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

export class PrometheusParseError extends UsageError {
  constructor(line: number, message: string) {
    super('PROMETHEUS_TEXT_INVALID', `metrics text line ${line}: ${message}`);
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'summary', 'histogram', 'untyped']);

export function parsePrometheusText(text: string): MetricFamily[] {
  const families = new Map<string, MetricFamily>();
  const family = (name: string): MetricFamily => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: 'untyped', help: '', samples: [] };
      families.set(name, f);
    }
    return f;
  };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const line = (lines[i] as string).replace(/\r$/, '').trim();
    const lineNo = i + 1;
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s*(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s+(.*))?$/.exec(line);
      if (!m) continue; // An ordinary comment.
      const [, keyword, name, rest = ''] = m as unknown as [string, string, string, string | undefined];
      if (keyword === 'HELP') family(name).help = unescapeHelp(rest);
      else {
        const type = rest.trim().toLowerCase() as MetricType;
        if (!TYPES.has(type)) throw new PrometheusParseError(lineNo, `unknown metric type '${rest.trim()}'`);
        family(name).type = type;
      }
      continue;
    }
    const sample = parseSample(line, lineNo);
    family(familyOf(sample.name, families)).samples.push(sample);
  }
  return [...families.values()].filter((f) => f.samples.length > 0 || f.type !== 'untyped');
}

/** `x_sum`, `x_count`, `x_bucket` belong to summary/histogram `x` when it is declared. */
function familyOf(sampleName: string, families: ReadonlyMap<string, MetricFamily>): string {
  for (const suffix of ['_sum', '_count', '_bucket', '_created']) {
    if (!sampleName.endsWith(suffix)) continue;
    const base = families.get(sampleName.slice(0, -suffix.length));
    if (base && (base.type === 'summary' || base.type === 'histogram')) return base.name;
  }
  return sampleName;
}

function parseSample(line: string, lineNo: number): Sample {
  const nameMatch = NAME.exec(line);
  if (!nameMatch)
    throw new PrometheusParseError(lineNo, `'${line.slice(0, 40)}' does not start with a metric name`);
  const name = nameMatch[0];
  let i = name.length;
  const labels: Record<string, string> = {};
  i = skipSpaces(line, i);
  if (line[i] === '{') {
    i = skipSpaces(line, i + 1);
    while (line[i] !== '}') {
      const labelMatch = LABEL_NAME.exec(line.slice(i));
      if (!labelMatch) throw new PrometheusParseError(lineNo, `expected a label name at column ${i + 1}`);
      const label = labelMatch[0];
      i = skipSpaces(line, i + label.length);
      if (line[i] !== '=') throw new PrometheusParseError(lineNo, `expected '=' after label ${label}`);
      i = skipSpaces(line, i + 1);
      if (line[i] !== '"')
        throw new PrometheusParseError(lineNo, `the value of label ${label} is not quoted`);
      const [value, end] = readLabelValue(line, i + 1, lineNo);
      labels[label] = value;
      i = skipSpaces(line, end);
      if (line[i] === ',') i = skipSpaces(line, i + 1);
      else if (line[i] !== '}')
        throw new PrometheusParseError(lineNo, `expected ',' or '}' at column ${i + 1}`);
    }
    i += 1;
  }
  const rest = line
    .slice(i)
    .trim()
    .split(/[ \t]+/);
  if (rest.length < 1 || rest[0] === '' || rest.length > 2)
    throw new PrometheusParseError(lineNo, `expected a value (and an optional timestamp) after ${name}`);
  const value = parseValue(rest[0] as string);
  if (value === undefined) throw new PrometheusParseError(lineNo, `'${rest[0]}' is not a number`);
  const sample: Sample = { name, labels, value };
  if (rest[1] !== undefined) {
    if (!/^-?\d+$/.test(rest[1]))
      throw new PrometheusParseError(lineNo, `timestamp '${rest[1]}' is not an integer`);
    sample.timestampMs = Number(rest[1]);
  }
  return sample;
}

function readLabelValue(line: string, start: number, lineNo: number): [string, number] {
  let out = '';
  for (let i = start; i < line.length; i += 1) {
    const c = line[i];
    if (c === '"') return [out, i + 1];
    if (c === '\\') {
      const next = line[i + 1];
      if (next === 'n') out += '\n';
      else if (next === '\\' || next === '"') out += next;
      else throw new PrometheusParseError(lineNo, `unknown escape '\\${next ?? ''}' in a label value`);
      i += 1;
    } else out += c;
  }
  throw new PrometheusParseError(lineNo, 'a label value is not closed');
}

function parseValue(text: string): number | undefined {
  const lower = text.toLowerCase();
  if (lower === 'nan') return Number.NaN;
  if (lower === '+inf' || lower === 'inf') return Number.POSITIVE_INFINITY;
  if (lower === '-inf') return Number.NEGATIVE_INFINITY;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

function skipSpaces(line: string, i: number): number {
  let j = i;
  while (line[j] === ' ' || line[j] === '\t') j += 1;
  return j;
}
