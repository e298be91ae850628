import { Command, CommanderError } from 'commander';
import * as batch from './commands/batch.js';
import * as deploy from './commands/deploy.js';
import * as deploymentCommands from './commands/deployment-commands.js';
import * as manifestCommands from './commands/manifest-commands.js';
import * as modelDelete from './commands/model-delete.js';
import * as modelDownload from './commands/model-download.js';
import * as modelList from './commands/model-list.js';
import * as modelProfile from './commands/model-profile.js';
import * as modelRegister from './commands/model-register.js';
import * as modelShow from './commands/model-show.js';
import * as packageImage from './commands/package.js';
import * as serve from './commands/serve.js';
import * as watch from './commands/watch.js';
import type { CliContext } from './context.js';
import { reportError } from './run-command.js';

export const CLI_VERSION = '0.1.0';

/** The `modelport` program. Commands register themselves; output goes through the context. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('modelport')
    .description('take trained ONNX models to edge devices and run them there')
    .version(CLI_VERSION);
  const model = program
    .command('model')
    .description('the model registry (MODELPORT_HOME, default ~/.modelport)');
  for (const command of [modelRegister, modelList, modelShow, modelDownload, modelDelete, modelProfile])
    command.register(model, ctx);
  serve.register(program, ctx);
  batch.register(program, ctx);
  serve.registerToken(program, ctx);
  packageImage.register(program, ctx);
  manifestCommands.register(program, ctx);
  deploy.register(program, ctx);
  deploymentCommands.register(program, ctx);
  watch.register(program, ctx);
  applyToAll(program, (c) =>
    c.exitOverride().configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
      // reportError prints parse errors (as JSON under --json), so commander itself stays quiet.
      outputError: () => undefined,
    }),
  );
  return program;
}

function applyToAll(command: Command, apply: (c: Command) => void): void {
  apply(command);
  for (const sub of command.commands) applyToAll(sub, apply);
}

/** Parses and runs one command line; resolves to the exit code (never calls process.exit). */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const json = argv.includes('--json');
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (
      err instanceof CommanderError &&
      (err.code === 'commander.helpDisplayed' || err.code === 'commander.version')
    ) {
      return 0;
    }
    if (err instanceof CommanderError && err.code === 'commander.help') return err.exitCode;
    reportError(ctx, err, json);
  }
  return ctx.exitCode;
}
