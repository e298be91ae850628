import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import * as deploymentDelete from './deployment-delete.js';
import * as deploymentList from './deployment-list.js';
import * as deploymentShow from './deployment-show.js';

/** `modelport deployment list|show|delete`: IoT Edge deployments on IoT Hub, with their metrics. */
export function register(program: Command, ctx: CliContext): void {
  const deployment = program
    .command('deployment')
    .description(
      'IoT Edge deployments on IoT Hub (hub connection string from --hub-connection-string or $MODELPORT_HUB_CONNECTION_STRING)',
    );
  for (const command of [deploymentList, deploymentShow, deploymentDelete]) command.register(deployment, ctx);
}
