import { resolve } from 'node:path';
import type { Command } from 'commander';
import { assertValidManifest, readManifestFile } from '../../manifest/index.js';
import type { CliContext } from '../context.js';
import { type CommandResult, runCommand } from '../run-command.js';

const SHAPES: Record<string, string> = {
  deployment: 'deployment manifest',
  configuration: 'IoT Hub configuration',
  edgeAgentTwin: '$edgeAgent desired properties',
  layered: 'layered deployment',
};

export async function validateManifestCommand(
  _opts: { json?: boolean },
  ctx: CliContext,
  command: Command,
): Promise<CommandResult> {
  const file = command.args[0] ?? '';
  const json = await readManifestFile(resolve(ctx.cwd, file));
  const report = assertValidManifest(json, undefined, `manifest ${file}`);
  const modules = report.modules.map((m) => `  ${m.name}  ${m.image ?? ''}`.trimEnd());
  return {
    result: { file, valid: true, shape: report.shape, modules: report.modules, issues: [] },
    human: [
      `${file}: valid ${SHAPES[report.shape] ?? report.shape} (${report.modules.length} module(s))`,
      ...modules,
    ],
  };
}

export function register(manifest: Command, ctx: CliContext): void {
  manifest
    .command('validate')
    .description(
      'check any IoT Edge deployment manifest (official schema, IoT Hub limits, Docker create options); exit 2 when invalid',
    )
    .argument(
      '<file>',
      'manifest JSON: {"modulesContent": …}, an IoT Hub configuration, or a layered deployment',
    )
    .option('--json', 'print one JSON document')
    .action(runCommand(ctx, validateManifestCommand));
}
