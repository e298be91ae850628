import type { Command } from 'commander';
import { parseModelRef } from '../../registry/model-ref.js';
import type { ModelRecord } from '../../registry/types.js';
import { type CliContext, withRegistry } from '../context.js';
import { formatBytes, formatKeyValues } from '../format.js';
import { type CommandResult, runCommand } from '../run-command.js';

export async function showModel(
  _opts: { json?: boolean },
  ctx: CliContext,
  command: Command,
): Promise<CommandResult> {
  const ref = parseModelRef(command.args[0] ?? '');
  const model = await withRegistry(ctx, async (registry) => registry.get(ref));
  return { result: model, human: describeModel(model) };
}

export function describeModel(m: ModelRecord): string[] {
  const lines = [
    `${m.name}:${m.version}`,
    `  framework    ${m.framework}`,
    `  digest       ${m.digest}`,
    `  created      ${m.createdAt}`,
    `  size         ${formatBytes(m.size)}`,
  ];
  if (m.description) lines.push(`  description  ${m.description}`);
  if (Object.keys(m.tags).length) lines.push(`  tags         ${formatKeyValues(m.tags)}`);
  if (Object.keys(m.properties).length) lines.push(`  properties   ${formatKeyValues(m.properties)}`);
  lines.push('  files');
  for (const f of m.files) lines.push(`    ${f.path}  ${formatBytes(f.size)}  sha256:${f.sha256}`);
  if (m.onnx) {
    const shape = (s: (number | string | null)[] | null) =>
      s ? `[${s.map((d) => d ?? '?').join(', ')}]` : '?';
    lines.push(
      `  onnx         ${m.onnx.file} (ir ${m.onnx.irVersion}, opset ${m.onnx.opsets.map((o) => `${o.domain}:${o.version}`).join(' ')}, producer ${m.onnx.producerName || '?'} ${m.onnx.producerVersion})`,
    );
    for (const i of m.onnx.inputs) lines.push(`    input  ${i.name}  ${i.elementType} ${shape(i.shape)}`);
    for (const o of m.onnx.outputs) lines.push(`    output ${o.name}  ${o.elementType} ${shape(o.shape)}`);
  }
  return lines;
}

export function register(model: Command, ctx: CliContext): void {
  model
    .command('show')
    .description('show one model version (NAME means the latest)')
    .argument('<model>', 'NAME or NAME:VERSION')
    .option('--json', 'print one JSON document')
    .action(runCommand(ctx, showModel));
}
