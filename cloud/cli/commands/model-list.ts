import type { Command } from 'commander';
import { type CliContext, withRegistry } from '../context.js';
import { formatBytes, formatKeyValues, table } from '../format.js';
import { collect, parseKeyValues } from '../parse-options.js';
import { type CommandResult, runCommand } from '../run-command.js';

interface Options {
  name?: string;
  tag?: string[];
  json?: boolean;
}

export async function listModels(opts: Options, ctx: CliContext): Promise<CommandResult> {
  const tags = parseKeyValues(opts.tag, '--tag', true);
  const models = await withRegistry(ctx, async (registry) =>
    registry.list({ ...(opts.name ? { name: opts.name } : {}), tags }),
  );
  const rows = models.map((m) => [
    m.name,
    String(m.version),
    m.framework,
    formatBytes(m.size),
    m.createdAt,
    formatKeyValues(m.tags),
  ]);
  return {
    result: models,
    human:
      models.length === 0
        ? 'No models registered.'
        : table(['NAME', 'VERSION', 'FRAMEWORK', 'SIZE', 'CREATED', 'TAGS'], rows),
  };
}

export function register(model: Command, ctx: CliContext): void {
  model
    .command('list')
    .description('list registered model versions')
    .option('--name <name>', 'only versions of this model')
    .option('--tag <key[=value]>', 'only versions with this tag (repeatable)', collect)
    .option('--json', 'print one JSON document')
    .action(runCommand(ctx, listModels));
}
