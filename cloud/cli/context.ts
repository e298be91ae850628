import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { ModelRegistry } from '../registry/registry.js';

/** What commands need from the outside world, resolved once at start-up (flags > env > defaults). */
export interface CliContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** True when stderr is a terminal: progress bars and colours are allowed. */
  interactive: boolean;
  logger: Logger;
  /** Resolves when the user asks the process to stop (SIGINT/SIGTERM); long-running commands await it. */
  shutdownSignal: AbortSignal;
  /** Set by the command wrapper; main.ts hands it to process.exitCode. */
  exitCode: number;
}

export function modelportHome(env: NodeJS.ProcessEnv): string {
  return resolve(env.MODELPORT_HOME || join(homedir(), '.modelport'));
}

/** Opens the registry for one command and closes it when the command is done. */
export async function withRegistry<T>(
  ctx: CliContext,
  use: (registry: ModelRegistry) => Promise<T>,
): Promise<T> {
  const registry = ModelRegistry.open(modelportHome(ctx.env));
  try {
    return await use(registry);
  } finally {
    registry.close();
  }
}
