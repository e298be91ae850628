import type { Command } from 'commander';
import { UsageError } from '../../../common/errors.js';
import { parseModelRef } from '../../registry/model-ref.js';
import { type CliContext, withRegistry } from '../context.js';
import { type CommandResult, runCommand } from '../run-command.js';

export async function deleteModel(
  _opts: { json?: boolean },
  ctx: CliContext,
  command: Command,
): Promise<CommandResult> {
  const text = command.args[0] ?? '';
  const ref = parseModelRef(text);
  if (ref.version === 'latest') {
    throw new UsageError('VERSION_REQUIRED', `delete needs an explicit version, e.g. ${ref.name}:1`, {
      hint: 'deleting "the latest" by accident is too easy; name the version',
    });
  }
  const model = await withRegistry(ctx, async (registry) => registry.delete(ref));
  return {
    result: { name: model.name, version: model.version, deleted: true },
    human: `Deleted ${model.name}:${model.version}`,
  };
}

export function register(model: Command, ctx: CliContext): void {
  model
    .command('delete')
    .description('delete one model version (its files go when no other version uses them)')
    .argument('<model>', 'NAME:VERSION')
    .option('--json', 'print one JSON document')
    .action(runCommand(ctx, deleteModel));
}
