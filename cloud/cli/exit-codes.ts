import { isModelportError } from '../../common/errors.js';

/** Exit codes in one place: 0 ok, 1 runtime failure, 2 usage, ≥3 domain (see common/errors.ts). */
export const EXIT = { ok: 0, failure: 1, usage: 2, notFound: 3, conflict: 4, unavailable: 5 } as const;

export function toExitCode(err: unknown): number {
  if (isModelportError(err)) return err.exitCode;
  if (isCommanderError(err)) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  return EXIT.failure;
}

export interface CommanderLikeError {
  code: string;
  exitCode: number;
  message: string;
}

export function isCommanderError(err: unknown): err is CommanderLikeError {
  return (
    err instanceof Error &&
    typeof (err as Partial<CommanderLikeError>).code === 'string' &&
    (err as unknown as CommanderLikeError).code.startsWith('commander.')
  );
}
