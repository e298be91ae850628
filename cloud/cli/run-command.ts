import type { Command } from 'commander';
import { isModelportError, messageOf } from '../../common/errors.js';
import type { CliContext } from './context.js';
import { EXIT, isCommanderError, toExitCode } from './exit-codes.js';

/** What a handler gives back; the wrapper alone decides how it is printed. */
export interface CommandResult<T = unknown> {
  result: T;
  /** Lines for a person (stdout) when --json is not set. */
  human: string | string[];
  warnings?: string[];
  /** A non-zero exit for a finished run that still failed in part (e.g. batch rejects). */
  exitCode?: number;
  /** Long-running commands (serve, watch): printed first, then awaited until the work ends. */
  untilDone?: Promise<void>;
}

export type Handler<O> = (opts: O, ctx: CliContext, command: Command) => Promise<CommandResult>;

export interface JsonSuccess {
  /** 0, or the exit code of a run that finished but failed in part (e.g. batch rejects). */
  status: number;
  result: unknown;
  warnings: string[];
}

export interface JsonFailure {
  status: number;
  error: { name: string; code: string; message: string; hint?: string; details?: unknown };
}

/**
 * Owns output and exit codes: under --json a single JSON document on stdout; otherwise human text on
 * stdout and errors on stderr. Sets process.exitCode through the context, never exits.
 */
export function runCommand<O extends { json?: boolean }>(ctx: CliContext, handler: Handler<O>) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args[args.length - 1] as Command;
    const opts = command.opts<O>();
    try {
      const outcome = await handler(opts, ctx, command);
      if (opts.json) {
        const doc: JsonSuccess = {
          status: outcome.exitCode ?? 0,
          result: outcome.result,
          warnings: outcome.warnings ?? [],
        };
        write(ctx.stdout, `${JSON.stringify(doc, null, 2)}\n`);
      } else {
        const lines = Array.isArray(outcome.human) ? outcome.human : [outcome.human];
        if (lines.length > 0 && !(lines.length === 1 && lines[0] === ''))
          write(ctx.stdout, `${lines.join('\n')}\n`);
        for (const w of outcome.warnings ?? []) write(ctx.stderr, `warning: ${w}\n`);
      }
      if (outcome.exitCode) setExitCode(ctx, outcome.exitCode);
      await outcome.untilDone;
    } catch (err) {
      reportError(ctx, err, Boolean(opts.json));
    }
  };
}

export function reportError(ctx: CliContext, err: unknown, json: boolean): void {
  const code = toExitCode(err);
  if (json) {
    write(ctx.stdout, `${JSON.stringify(toJsonFailure(err, code), null, 2)}\n`);
  } else {
    write(ctx.stderr, `error: ${messageOf(err).replace(/^error: /, '')}\n`);
    if (isModelportError(err) && err.hint) write(ctx.stderr, `hint: ${err.hint}\n`);
    if (isCommanderError(err)) write(ctx.stderr, 'run with --help for usage\n');
  }
  if (code === EXIT.failure && !isModelportError(err) && !isCommanderError(err)) {
    ctx.logger.error({ err }, 'unexpected failure');
  }
  setExitCode(ctx, code);
}

export function toJsonFailure(err: unknown, status: number): JsonFailure {
  if (isModelportError(err)) {
    return {
      status,
      error: {
        name: err.name,
        code: err.code,
        message: err.message,
        ...(err.hint ? { hint: err.hint } : {}),
        ...(err.details ? { details: err.details } : {}),
      },
    };
  }
  if (isCommanderError(err)) {
    return {
      status,
      error: { name: 'UsageError', code: err.code, message: err.message.replace(/^error: /, '') },
    };
  }
  return { status, error: { name: 'Error', code: 'INTERNAL', message: messageOf(err) } };
}

function setExitCode(ctx: CliContext, code: number): void {
  ctx.exitCode = code;
}

function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text);
}
