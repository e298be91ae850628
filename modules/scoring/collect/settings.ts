/**
 * Model-data collection settings, read once at start: how many requests to collect
 * (`MODELPORT_COLLECT_RATE`, 0–1, default 0 = off), what to keep of each input
 * (`MODELPORT_COLLECT_FIELDS`, JSON `{"input": "keep"|"drop"|"hash", "*": …}`; unlisted inputs are
 * kept, `"*"` changes that), and where records go: the IoT Edge hub (output `collect`, when the
 * module runs under an edgeHub: `EdgeHubConnectionString` or IoT Edge's `IOTEDGE_WORKLOADURI`), or
 * JSON lines in a folder (`modelport serve --collect-dir`).
 */
import { ModelportError } from '../../../common/errors.js';

export type FieldPolicy = 'keep' | 'drop' | 'hash';
export const FIELD_POLICIES: readonly FieldPolicy[] = ['keep', 'drop', 'hash'];

export interface CollectSettings {
  /** Fraction of successful scoring requests collected, 0–1. */
  rate: number;
  /** Per input name; `*` is the policy of inputs not named (default keep). */
  fields: Readonly<Record<string, FieldPolicy>>;
  /** Records waiting to be sent at most; past it the oldest are dropped (counted). */
  queueLimit: number;
}

export type CollectTarget = { kind: 'edge-hub'; output: string } | { kind: 'dir'; dir: string };

export interface CollectOptions extends CollectSettings {
  target: CollectTarget;
  /** Names the records of an entry script: its deployed models (`a+b`), or `entry-script`. */
  scriptModel: { name: string; version: string };
}

export const COLLECT_OUTPUT = 'collect';
export const DEFAULT_QUEUE_LIMIT = 10_000;

function invalid(name: string, text: string, want: string): ModelportError {
  return new ModelportError('CONFIG_INVALID', `${name}='${text}' is not ${want}`, { exitCode: 2 });
}

export function parseRate(text: string, name = 'MODELPORT_COLLECT_RATE'): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
    throw invalid(name, text, 'a number from 0 to 1');
  return n;
}

export function parseFields(text: string, name = 'MODELPORT_COLLECT_FIELDS'): Record<string, FieldPolicy> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid(name, text, 'JSON like {"customerId": "hash", "ssn": "drop"}');
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw invalid(name, text, 'a JSON object of input name → "keep", "drop" or "hash"');
  const fields: Record<string, FieldPolicy> = {};
  for (const [input, policy] of Object.entries(json)) {
    if (!FIELD_POLICIES.includes(policy as FieldPolicy))
      throw invalid(
        name,
        text,
        `valid: input '${input}' has ${JSON.stringify(policy)}, not "keep", "drop" or "hash"`,
      );
    fields[input] = policy as FieldPolicy;
  }
  return fields;
}

/** True when the process runs as an IoT Edge module (ModuleClient.fromEnvironment can connect). */
export function underEdgeHub(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.EdgeHubConnectionString || env.IOTEDGE_WORKLOADURI);
}

/**
 * The collection settings of this process: `collect` when records are made, else nothing (rate 0),
 * or `unsent` saying why a rate was given but records would have nowhere to go. `dir` (from
 * `modelport serve --collect-dir`) wins over the edge hub, and without a rate collects every request.
 * `models` (the deployed ones) name the records of an entry script.
 */
export function collectFromEnv(
  env: NodeJS.ProcessEnv,
  context: { dir?: string; models?: ReadonlyArray<{ name: string; version: string }> } = {},
): { collect?: CollectOptions; unsent?: string } {
  const rateText = env.MODELPORT_COLLECT_RATE;
  const rate =
    rateText !== undefined && rateText !== '' ? parseRate(rateText) : context.dir !== undefined ? 1 : 0;
  const fields = env.MODELPORT_COLLECT_FIELDS ? parseFields(env.MODELPORT_COLLECT_FIELDS) : {};
  const limitText = env.MODELPORT_COLLECT_QUEUE;
  const queueLimit = limitText ? Number(limitText) : DEFAULT_QUEUE_LIMIT;
  if (!Number.isInteger(queueLimit) || queueLimit < 1)
    throw invalid('MODELPORT_COLLECT_QUEUE', limitText ?? '', 'an integer ≥ 1');
  if (rate === 0) return {};
  const target: CollectTarget | undefined =
    context.dir !== undefined
      ? { kind: 'dir', dir: context.dir }
      : underEdgeHub(env)
        ? { kind: 'edge-hub', output: COLLECT_OUTPUT }
        : undefined;
  if (!target) {
    return {
      unsent: `MODELPORT_COLLECT_RATE=${rate} but this is no IoT Edge module (no EdgeHubConnectionString or IOTEDGE_WORKLOADURI): nothing is collected`,
    };
  }
  const models = context.models ?? [];
  const scriptModel =
    models.length > 0
      ? { name: models.map((m) => m.name).join('+'), version: models.map((m) => m.version).join('+') }
      : { name: 'entry-script', version: '' };
  return { collect: { rate, fields, queueLimit, target, scriptModel } };
}
