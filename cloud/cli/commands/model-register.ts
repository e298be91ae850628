import type { Command } from 'commander';
import { type CliContext, withRegistry } from '../context.js';
import { formatBytes } from '../format.js';
import { collect, parseKeyValues } from '../parse-options.js';
import { type CommandResult, runCommand } from '../run-command.js';

interface Options {
  name: string;
  path: string;
  framework?: string;
  description?: string;
  tag?: string[];
  property?: string[];
  json?: boolean;
}

export async function registerModel(opts: Options, ctx: CliContext): Promise<CommandResult> {
  const tags = parseKeyValues(opts.tag, '--tag');
  const properties = parseKeyValues(opts.property, '--property');
  const model = await withRegistry(ctx, (registry) =>
    registry.register({
      name: opts.name,
      path: opts.path,
      ...(opts.framework ? { framework: opts.framework } : {}),
      ...(opts.description !== undefined ? { description: opts.description } : {}),
      tags,
      properties,
    }),
  );
  return {
    result: model,
    human: [
      `Registered ${model.name}:${model.version} (${model.framework}, ${model.files.length} file(s), ${formatBytes(model.size)})`,
      `digest ${model.digest}`,
    ],
  };
}

export function register(model: Command, ctx: CliContext): void {
  model
    .command('register')
    .description('register a model file or folder as the next version of NAME')
    .requiredOption('--name <name>', 'model name')
    .requiredOption('--path <path>', 'model file or folder')
    .option('--framework <framework>', 'framework (onnx is detected from content)')
    .option('--description <text>', 'description')
    .option('--tag <key=value>', 'tag (repeatable)', collect)
    .option('--property <key=value>', 'property (repeatable)', collect)
    .option('--json', 'print one JSON document')
    .action(runCommand(ctx, registerModel));
}
