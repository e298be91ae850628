import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import * as manifestGenerate from './manifest-generate.js';
import * as manifestValidate from './manifest-validate.js';

/** `modelport manifest generate|validate`. */
export function register(program: Command, ctx: CliContext): void {
  const manifest = program
    .command('manifest')
    .description('IoT Edge deployment manifests: generate from a spec, validate any');
  for (const command of [manifestGenerate, manifestValidate]) command.register(manifest, ctx);
}
