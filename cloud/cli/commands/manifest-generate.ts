import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  type GeneratedModule,
  generateManifest,
  type ManifestLookups,
  maskSecrets,
  memoryLookups,
  readSpecFile,
  registryLookups,
  writeManifestFile,
} from '../../manifest/index.js';
import { PackagedImages } from '../../registry/packaged-images.js';
import { type CliContext, modelportHome, withRegistry } from '../context.js';
import { type CommandResult, runCommand } from '../run-command.js';

interface Options {
  spec: string;
  output: string;
  json?: boolean;
}

export async function generateManifestCommand(opts: Options, ctx: CliContext): Promise<CommandResult> {
  const specPath = resolve(ctx.cwd, opts.spec);
  const outputPath = resolve(ctx.cwd, opts.output);
  const spec = await readSpecFile(specPath);
  const needsRegistry = Object.values(spec.modules).some((m) => m.models !== undefined);
  const generate = (lookups: ManifestLookups) => generateManifest(spec, lookups, ctx.env);
  // A spec that names its images needs no registry: it generates on a machine without one.
  const generated = needsRegistry
    ? await withRegistry(ctx, async (registry) => {
        const images = PackagedImages.open(modelportHome(ctx.env));
        try {
          return generate(registryLookups(registry, images));
        } finally {
          images.close();
        }
      })
    : generate(memoryLookups({}));
  await writeManifestFile(outputPath, generated.manifest);
  return {
    result: { output: outputPath, modules: generated.modules, manifest: maskSecrets(generated.manifest) },
    human: [
      `Wrote ${opts.output} (${generated.modules.length} module(s))`,
      ...generated.modules.map(describeModule),
    ],
    warnings: generated.warnings,
  };
}

function describeModule(m: GeneratedModule): string {
  const models = m.models.map((x) => `${x.name}:${x.version}`).join(', ');
  const from =
    m.imageSource === 'packaged' ? `packaged${m.platform ? ` for ${m.platform}` : ''}` : 'from the spec';
  return `  ${m.name}  ${m.image} (${from})${models ? `  models ${models}` : ''}`;
}

export function register(manifest: Command, ctx: CliContext): void {
  manifest
    .command('generate')
    .description('turn a deployment spec (YAML or JSON) into an IoT Edge deployment manifest')
    .requiredOption('--spec <file>', 'deployment spec')
    .requiredOption(
      '-o, --output <file>',
      'where to write the manifest (it holds registry credentials: mode 0600)',
    )
    .option('--json', 'print one JSON document (registry passwords masked)')
    .action(runCommand(ctx, generateManifestCommand));
}
