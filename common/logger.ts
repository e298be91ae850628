import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  name: string;
  level?: string;
  /** Where JSON lines go; stderr by default so stdout stays for command output. */
  destination?: NodeJS.WritableStream;
}

/** Structured JSON logs (pino). Components get child loggers, never a module singleton. */
export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? process.env.MODELPORT_LOG_LEVEL ?? 'info';
  return pino({ name: options.name, level }, options.destination ?? pino.destination(2));
}

/** A logger that drops everything: for library calls in tests and quiet CLI paths. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
