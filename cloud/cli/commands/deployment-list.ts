import type { Command } from 'commander';
import { listDeployments } from '../../fleet/deployments.js';
import type { CliContext } from '../context.js';
import { type CommandResult, runCommand } from '../run-command.js';
import { deploymentTable } from './deployment-format.js';
import { addHubOptions, type HubOptions, withHub } from './deployment-hub-options.js';

export async function listDeploymentsCommand(opts: HubOptions, ctx: CliContext): Promise<CommandResult> {
  const deployments = await withHub(opts, ctx, (hub) => listDeployments(hub));
  return { result: deployments, human: deploymentTable(deployments) };
}

export function register(deployment: Command, ctx: CliContext): void {
  addHubOptions(
    deployment
      .command('list')
      .description('list IoT Edge deployments with their metrics, highest priority first'),
  ).action(runCommand(ctx, listDeploymentsCommand));
}
