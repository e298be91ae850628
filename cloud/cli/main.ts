import { createLogger } from '../../common/logger.js';
import type { CliContext } from './context.js';
import { runCli } from './program.js';

/** The process edge: real streams, signals and environment; the only place that sets process.exitCode. */
async function main(): Promise<void> {
  const shutdown = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (shutdown.signal.aborted) process.exit(130); // a second Ctrl-C: stop waiting for a graceful close
      shutdown.abort();
    });
  }
  const ctx: CliContext = {
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    interactive: Boolean(process.stderr.isTTY),
    logger: createLogger({ name: 'modelport', level: process.env.MODELPORT_LOG_LEVEL ?? 'warn' }),
    shutdownSignal: shutdown.signal,
    exitCode: 0,
  };
  process.exitCode = await runCli(process.argv.slice(2), ctx);
}

await main();
