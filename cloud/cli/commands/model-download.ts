import type { Command } from 'commander';
import { parseModelRef } from '../../registry/model-ref.js';
import { type CliContext, withRegistry } from '../context.js';
import { type CommandResult, runCommand } from '../run-command.js';

interface Options {
  targetDir: string;
  json?: boolean;
}

export async function downloadModel(
  opts: Options,
  ctx: CliContext,
  command: Command,
): Promise<CommandResult> {
  const ref = parseModelRef(command.args[0] ?? '');
  const { model, paths } = await withRegistry(ctx, (registry) => registry.download(ref, opts.targetDir));
  return {
    result: { name: model.name, version: model.version, digest: model.digest, paths },
    human: [`Downloaded ${model.name}:${model.version} (digest verified)`, ...paths.map((p) => `  ${p}`)],
  };
}

export function register(model: Command, ctx: CliContext): void {
  model
    .command('download')
    .description("write a model version's files into a folder, each checked against its sha256")
    .argument('<model>', 'NAME:VERSION (NAME means the latest)')
    .requiredOption('--target-dir <dir>', 'folder to write the files into')
    .option('--json', 'print one JSON document')
    .action(runCommand(ctx, downloadModel));
}
