import type { Command } from 'commander';
import { isModelportError, messageOf, UsageError } from '../../../common/errors.js';
import { runCycle } from '../../watch/index.js';
import { type CliContext, withRegistry } from '../context.js';
import { toExitCode } from '../exit-codes.js';
import { formatBytes } from '../format.js';
import { collect, parseKeyValues } from '../parse-options.js';
import { type CommandResult, runCommand } from '../run-command.js';
import {
  describeOutcome,
  openPipeline,
  outcomeResult,
  type Pipeline,
  type PipelineOptions,
} from './watch.js';

interface Options extends PipelineOptions {
  name: string;
  path: string;
  framework?: string;
  description?: string;
  tag?: string[];
  property?: string[];
  json?: boolean;
  /** Run the continuous-deployment pipeline once for this spec after registering (cloud/watch). */
  deploySpec?: string;
}

export async function registerModel(opts: Options, ctx: CliContext): Promise<CommandResult> {
  const tags = parseKeyValues(opts.tag, '--tag');
  const properties = parseKeyValues(opts.property, '--property');
  const stray = (['manifestOut', 'hubConnectionString', 'hubCa'] as const).filter(
    (k) => opts[k] !== undefined,
  );
  if (opts.deploySpec === undefined && stray.length > 0) {
    throw new UsageError(
      'DEPLOY_SPEC_MISSING',
      '--manifest-out, --hub-connection-string and --hub-ca go with --deploy-spec',
    );
  }
  // The spec, target and gate are checked before the model is registered.
  const pipeline = opts.deploySpec === undefined ? undefined : await openPipeline(opts.deploySpec, opts, ctx);
  try {
    const registered = await registerOnly(opts, ctx, tags, properties);
    return pipeline ? await deployAfter(registered, pipeline) : registered;
  } finally {
    pipeline?.close();
  }
}

/** `--deploy-spec`: the same pipeline as `modelport watch --once`; the model stays registered if it fails. */
async function deployAfter(registered: CommandResult, pipeline: Pipeline): Promise<CommandResult> {
  const target = pipeline.deps.target.description;
  const human = Array.isArray(registered.human) ? registered.human : [registered.human];
  try {
    const outcome = await runCycle(pipeline.deps);
    return {
      result: { ...(registered.result as object), deployment: outcomeResult(outcome, target) },
      human: [...human, ...describeOutcome(outcome, target)],
      ...(outcome.outcome === 'blocked' && { exitCode: 3 }),
    };
  } catch (e) {
    const error = {
      code: isModelportError(e) ? e.code : 'INTERNAL',
      message: messageOf(e),
      ...(isModelportError(e) && e.hint && { hint: e.hint }),
    };
    return {
      result: { ...(registered.result as object), deployment: { target, outcome: 'failed', error } },
      human: [...human, `Deployment to ${target} failed (the model is registered): ${messageOf(e)}`],
      warnings: isModelportError(e) && e.hint ? [e.hint] : [],
      exitCode: toExitCode(e),
    };
  }
}

async function registerOnly(
  opts: Options,
  ctx: CliContext,
  tags: Record<string, string>,
  properties: Record<string, string>,
): Promise<CommandResult> {
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
    .option(
      '--deploy-spec <file>',
      'then deploy it as `modelport watch --once` would, with this deployment spec',
    )
    .option('--manifest-out <file>', 'with --deploy-spec: write the manifest here (agents in offline mode)')
    .option('--hub-connection-string <connection-string>', 'with --deploy-spec: deploy through this IoT Hub')
    .option('--hub-ca <file>', 'with --deploy-spec: extra CA certificate (PEM) to trust for the hub')
    .action(runCommand(ctx, registerModel));
}
