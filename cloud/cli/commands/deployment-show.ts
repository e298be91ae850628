import type { Command } from 'commander';
import { showDeployment } from '../../fleet/deployments.js';
import { maskSecrets } from '../../manifest/index.js';
import type { CliContext } from '../context.js';
import { type CommandResult, runCommand } from '../run-command.js';
import { describeDeployment } from './deployment-format.js';
import { addHubOptions, type HubOptions, withHub } from './deployment-hub-options.js';

export async function showDeploymentCommand(
  opts: HubOptions,
  ctx: CliContext,
  command: Command,
): Promise<CommandResult> {
  const id = command.args[0] ?? '';
  const { deployment, configuration } = await withHub(opts, ctx, (hub) => showDeployment(hub, id));
  return {
    // Registry passwords in the content are masked: printed output never carries them.
    result: { deployment, configuration: maskSecrets(configuration) },
    human: describeDeployment(deployment),
  };
}

export function register(deployment: Command, ctx: CliContext): void {
  addHubOptions(
    deployment
      .command('show')
      .description('show one deployment: target condition, priority, etag, modules and metrics from the hub')
      .argument('<id>', 'deployment id'),
  ).action(runCommand(ctx, showDeploymentCommand));
}
