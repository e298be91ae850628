import { resolve } from 'node:path';
import type { ConfigurationContent } from 'azure-iothub';
import type { Command } from 'commander';
import { UsageError } from '../../../common/errors.js';
import type { ModulesContentWire } from '../../../manifests/index.js';
import { checkDeploymentRequest, type DeploymentRequest } from '../../fleet/deployment-request.js';
import { applyDeployment, deployToDevice } from '../../fleet/deployments.js';
import { toLayeredContent } from '../../fleet/layered.js';
import { assertValidManifest, findModulesContent, readManifestFile } from '../../manifest/index.js';
import type { CliContext } from '../context.js';
import { collect, parseKeyValues } from '../parse-options.js';
import { type CommandResult, runCommand } from '../run-command.js';
import { metricsLine } from './deployment-format.js';
import { addHubOptions, type HubOptions, withHub } from './deployment-hub-options.js';

interface Options extends HubOptions {
  manifest: string;
  device?: string;
  id?: string;
  targetCondition?: string;
  priority?: string;
  layered?: boolean;
  label?: string[];
  metric?: string[];
  etag?: string;
}

/** The manifest as IoT Hub configuration content: checked in full first, made layered when asked. */
async function contentOf(
  file: string,
  ctx: CliContext,
  layered: boolean,
): Promise<{ content: ConfigurationContent; warnings: string[] }> {
  const json = await readManifestFile(resolve(ctx.cwd, file));
  const report = assertValidManifest(json, undefined, `manifest ${file}`);
  const found = findModulesContent(json);
  if (report.shape === 'edgeAgentTwin' || !found) {
    throw new UsageError(
      'MANIFEST_INCOMPLETE',
      `${file} holds only $edgeAgent desired properties; deploying needs a whole manifest {"modulesContent": …}`,
    );
  }
  const warnings: string[] = [];
  const holder = json as Record<string, unknown>;
  if (
    report.shape === 'configuration' &&
    (holder['targetCondition'] !== undefined || holder['priority'] !== undefined)
  ) {
    warnings.push(
      `${file} is an IoT Hub configuration: its targetCondition and priority are ignored; the flags decide`,
    );
  }
  if (report.shape === 'layered') {
    if (!layered) {
      throw new UsageError(
        'LAYERED_FLAG_MISSING',
        `${file} is a layered deployment; deploy it with --id … --layered`,
      );
    }
    return { content: { modulesContent: found.value }, warnings };
  }
  if (!layered) return { content: { modulesContent: found.value }, warnings };
  const { modulesContent, leftOut } = toLayeredContent(found.value as unknown as ModulesContentWire);
  if (leftOut.length > 0) {
    warnings.push(
      `a layered deployment takes ${leftOut.join(', ')} from the base deployment; the values in ${file} are not deployed`,
    );
  }
  return { content: { modulesContent }, warnings };
}

function parsePriority(text: string | undefined): number {
  const n = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isInteger(n) || n < 0) {
    throw new UsageError(
      'PRIORITY_INVALID',
      `--priority '${text}' must be a non-negative integer (higher wins)`,
    );
  }
  return n;
}

function checkMode(opts: Options): 'device' | 'deployment' {
  if ((opts.device === undefined) === (opts.id === undefined)) {
    throw new UsageError(
      'DEPLOY_TARGET_INVALID',
      'name exactly one target: --device ID, or --id DEPLOYMENT for an at-scale deployment',
    );
  }
  if (opts.device !== undefined) {
    const atScale = [
      ['--target-condition', opts.targetCondition],
      ['--priority', opts.priority],
      ['--layered', opts.layered],
      ['--label', opts.label],
      ['--metric', opts.metric],
      ['--etag', opts.etag],
    ].filter(([, v]) => v !== undefined);
    if (atScale.length > 0) {
      throw new UsageError(
        'DEPLOY_TARGET_INVALID',
        `${atScale.map(([k]) => k).join(', ')} belong to at-scale deployments (--id), not to --device`,
      );
    }
    return 'device';
  }
  const missing = [
    ['--target-condition', opts.targetCondition],
    ['--priority', opts.priority],
  ].filter(([, v]) => v === undefined);
  if (missing.length > 0) {
    throw new UsageError(
      'DEPLOY_TARGET_INVALID',
      `an at-scale deployment (--id) needs ${missing.map(([k]) => k).join(' and ')}`,
    );
  }
  return 'deployment';
}

export async function deployCommand(opts: Options, ctx: CliContext): Promise<CommandResult> {
  const mode = checkMode(opts);
  if (mode === 'device') {
    const deviceId = opts.device as string;
    const { content, warnings } = await contentOf(opts.manifest, ctx, false);
    const applied = await withHub(opts, ctx, (hub) => deployToDevice(hub, deviceId, content));
    return {
      result: { mode, ...applied },
      human: [
        `Applied ${opts.manifest} to device ${deviceId}`,
        ...applied.modules.map((m) => `  ${m.name}  ${m.image ?? ''}`.trimEnd()),
      ],
      warnings,
    };
  }
  const request: DeploymentRequest = {
    id: opts.id as string,
    targetCondition: opts.targetCondition as string,
    priority: parsePriority(opts.priority),
    ...(opts.label && { labels: parseKeyValues(opts.label, '--label') }),
    ...(opts.metric && { metrics: parseKeyValues(opts.metric, '--metric') }),
    ...(opts.etag !== undefined && { etag: opts.etag }),
  };
  // Everything is checked before the hub is contacted: nothing is half-applied.
  checkDeploymentRequest(request);
  const { content, warnings } = await contentOf(opts.manifest, ctx, Boolean(opts.layered));
  const { outcome, deployment } = await withHub(opts, ctx, (hub) => applyDeployment(hub, request, content));
  const verb = { created: 'Created', updated: 'Updated', unchanged: 'Unchanged:' }[outcome];
  return {
    result: { mode, outcome, deployment },
    human: [
      `${verb} deployment ${deployment.id}${deployment.layered ? ' (layered)' : ''}: priority ${deployment.priority}, target ${deployment.targetCondition}`,
      `  etag     ${deployment.etag ?? '-'}`,
      `  metrics  ${metricsLine(deployment.metrics)}`,
    ],
    warnings,
  };
}

export function register(program: Command, ctx: CliContext): void {
  addHubOptions(
    program
      .command('deploy')
      .description(
        'deploy a manifest through IoT Hub: to one IoT Edge device (--device), or at scale (--id, --target-condition, --priority)',
      )
      .requiredOption('--manifest <file>', 'deployment manifest (see `modelport manifest generate`)')
      .option('--device <id>', 'apply the manifest to this one IoT Edge device')
      .option('--id <deployment>', 'create or update this at-scale deployment')
      .option('--target-condition <condition>', "which devices, e.g. tags.ring='canary'")
      .option('--priority <n>', 'higher wins where deployments overlap')
      .option(
        '--layered',
        'a layered deployment: modules, routes and module properties on top of the base deployment',
      )
      .option('--label <key=value>', 'deployment label (repeatable)', collect)
      .option('--metric <name=query>', 'custom metric query (repeatable)', collect)
      .option('--etag <etag>', 'update only if the deployment still has this etag (from `deployment show`)'),
  ).action(runCommand(ctx, deployCommand));
}
