import { UsageError } from '../../common/errors.js';

/** Commander collector for repeatable options: `--tag a=1 --tag b=2`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * `k=v` pairs into a record. Keys are non-empty and free of '='; a value may contain '='.
 * With `allowBareKey`, `k` alone means "has key k" and maps to '*'.
 */
export function parseKeyValues(
  pairs: readonly string[] | undefined,
  option: string,
  allowBareKey = false,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq === -1 && allowBareKey && pair.length > 0) {
      out[pair] = '*';
      continue;
    }
    if (eq <= 0) {
      throw new UsageError('KEY_VALUE_INVALID', `${option} '${pair}' is not of the form key=value`, {
        hint: `write e.g. ${option} team=vision`,
      });
    }
    const key = pair.slice(0, eq).trim();
    if (key.length === 0) throw new UsageError('KEY_VALUE_INVALID', `${option} '${pair}' has an empty key`);
    out[key] = pair.slice(eq + 1);
  }
  return out;
}

export function parsePort(text: string, option = '--port'): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError('PORT_INVALID', `${option} '${text}' is not a TCP port (0-65535)`);
  }
  return port;
}

export function parsePositiveInt(text: string, option: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0)
    throw new UsageError('NUMBER_INVALID', `${option} '${text}' must be a positive integer`);
  return n;
}
