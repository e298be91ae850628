/**
 * Why a container failed, in one line for reported `statusDescription`: taken from its last log lines
 * (pino JSON lines give their `msg`, and `err.message` when present; other lines are used as written).
 */
import type { LogLine } from './docker-adapter.js';

/** The scoring module's exit code when a model file does not match its expected digest (EX_CONFIG). */
export const EXIT_MODEL_INTEGRITY = 78;

const MAX_DETAIL = 300;

interface Parsed {
  text: string;
  error: boolean;
}

function parseLine(line: string): Parsed | undefined {
  const trimmed = line.trim();
  if (trimmed === '') return undefined;
  if (trimmed.startsWith('{')) {
    try {
      const obj = JSON.parse(trimmed) as { msg?: unknown; level?: unknown; err?: { message?: unknown } };
      if (typeof obj.msg === 'string') {
        const errMessage = typeof obj.err?.message === 'string' ? obj.err.message : '';
        const text = errMessage && !obj.msg.includes(errMessage) ? `${obj.msg}: ${errMessage}` : obj.msg;
        const level = typeof obj.level === 'number' ? obj.level : 30;
        return { text, error: level >= 50 };
      }
    } catch {
      // Not JSON after all: use the line as written.
    }
  }
  return { text: trimmed, error: /error|fail|fatal|exception/i.test(trimmed) };
}

const clip = (s: string) => (s.length > MAX_DETAIL ? `${s.slice(0, MAX_DETAIL - 1)}…` : s);

/** The most telling of the last lines: the last error-looking one, else the last one. */
export function lastErrorLine(lines: readonly LogLine[]): string | undefined {
  const parsed = lines.map((l) => parseLine(l.text)).filter((p): p is Parsed => p !== undefined);
  const pick = [...parsed].reverse().find((p) => p.error) ?? parsed[parsed.length - 1];
  return pick && clip(pick.text);
}

/** `statusDescription` for a container that exited with `exitCode`. */
export function describeExit(exitCode: number, lines: readonly LogLine[]): string {
  const detail = lastErrorLine(lines);
  if (exitCode === EXIT_MODEL_INTEGRITY) {
    const text = detail?.replace(/^model integrity check failed:\s*/i, '');
    return `model integrity check failed: ${text ?? 'see the module logs'}`;
  }
  return detail ? `exited with code ${exitCode}: ${detail}` : `exited with code ${exitCode}`;
}
