import type { Command } from 'commander';
import { deleteDeployment } from '../../fleet/deployments.js';
import type { CliContext } from '../context.js';
import { type CommandResult, runCommand } from '../run-command.js';
import { addHubOptions, type HubOptions, withHub } from './deployment-hub-options.js';

export async function deleteDeploymentCommand(
  opts: HubOptions,
  ctx: CliContext,
  command: Command,
): Promise<CommandResult> {
  const id = command.args[0] ?? '';
  const deleted = await withHub(opts, ctx, (hub) => deleteDeployment(hub, id));
  return {
    result: { deleted },
    human: `Deleted deployment ${deleted.id} (devices keep their modules until another deployment targets them)`,
  };
}

export function register(deployment: Command, ctx: CliContext): void {
  addHubOptions(
    deployment.command('delete').description('delete a deployment').argument('<id>', 'deployment id'),
  ).action(runCommand(ctx, deleteDeploymentCommand));
}
