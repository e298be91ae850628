import type { Command } from 'commander';
import { UsageError } from '../../../common/errors.js';
import { DEFAULT_BASE_IMAGE } from '../../package/dockerfile.js';
import type { RegistryCredentials } from '../../package/engine-ops.js';
import { parseImageRef } from '../../package/image-ref.js';
import { findModelportInstall } from '../../package/modelport-root.js';
import { type PackageResult, packageModels } from '../../package/packager.js';
import { parsePlatform } from '../../package/platform.js';
import { progressView } from '../../package/progress-view.js';
import { parseModelRef } from '../../registry/model-ref.js';
import { type CliContext, modelportHome } from '../context.js';
import { formatBytes } from '../format.js';
import { type CommandResult, runCommand } from '../run-command.js';

interface Options {
  model: string[];
  image: string;
  platform: string;
  baseImage: string;
  entryScript?: string;
  push?: boolean;
  pull?: boolean;
  outputDir?: string;
  registryUsername?: string;
  registryPasswordEnv?: string;
  json?: boolean;
}

export async function packageCommand(opts: Options, ctx: CliContext): Promise<CommandResult> {
  const models = opts.model.map(parseModelRef);
  const image = parseImageRef(opts.image);
  const platform = parsePlatform(opts.platform);
  if (/\s|["'\\]/.test(opts.baseImage) || opts.baseImage === '') {
    throw new UsageError('BASE_IMAGE_INVALID', `--base-image '${opts.baseImage}' is not an image reference`);
  }
  if (opts.outputDir !== undefined && opts.push) {
    throw new UsageError(
      'OPTIONS_CONFLICT',
      '--output-dir writes the build context instead of building: it cannot --push',
      {
        hint: 'build the folder with `docker build`, then push it, or drop --output-dir',
      },
    );
  }
  const credentials = readCredentials(opts, ctx.env);
  const view = progressView(ctx.stderr, opts.json ? 'quiet' : ctx.interactive ? 'bars' : 'lines');
  let result: PackageResult;
  try {
    result = await packageModels(
      {
        models,
        image,
        platform,
        baseImage: opts.baseImage,
        ...(opts.entryScript === undefined ? {} : { entryScript: opts.entryScript }),
        push: Boolean(opts.push),
        pull: Boolean(opts.pull),
        ...(opts.outputDir === undefined ? {} : { outputDir: opts.outputDir }),
        ...(credentials === undefined ? {} : { credentials }),
      },
      {
        home: modelportHome(ctx.env),
        env: ctx.env,
        install: findModelportInstall(),
        now: () => new Date(),
        observe: view.observer,
        logger: ctx.logger,
        signal: ctx.shutdownSignal,
      },
    );
  } finally {
    view.stop();
  }
  const { warnings, ...rest } = result;
  return { result: rest, human: humanSummary(result), warnings };
}

/** `--registry-username U --registry-password-env VAR`: the password is read from VAR, never from argv. */
function readCredentials(opts: Options, env: NodeJS.ProcessEnv): RegistryCredentials | undefined {
  const { registryUsername: username, registryPasswordEnv: variable } = opts;
  if (username === undefined && variable === undefined) return undefined;
  if (username === undefined || variable === undefined) {
    throw new UsageError(
      'REGISTRY_CREDENTIALS_INCOMPLETE',
      '--registry-username and --registry-password-env go together',
      {
        hint: 'export the password in a variable, e.g. REGISTRY_PASSWORD, and pass --registry-password-env REGISTRY_PASSWORD',
      },
    );
  }
  const password = env[variable];
  if (password === undefined || password === '') {
    throw new UsageError(
      'REGISTRY_PASSWORD_MISSING',
      `the environment variable ${variable} (--registry-password-env) is not set or empty`,
      {
        hint: `export ${variable} with the registry password or token`,
      },
    );
  }
  return { username, password };
}

function humanSummary(r: PackageResult): string[] {
  const models = r.models.map((m) => `${m.name}:${m.version}`).join(', ');
  if (r.outputDir !== undefined) {
    return [
      `Wrote the build context for ${r.image} (${models}, ${r.platform}) to ${r.outputDir}`,
      `  ${r.context.files} files, ${formatBytes(r.context.bytes)}`,
      `  build it with: docker build --platform ${r.platform} -t ${r.image} ${r.outputDir}`,
    ];
  }
  return [
    `Built ${r.image} (${models}, ${r.platform})`,
    `  image id  ${r.imageId}`,
    `  size      ${formatBytes(r.sizeBytes ?? 0)}`,
    r.pushed ? `  pushed    ${r.repoDigest}` : '  pushed    no (add --push to push it)',
  ];
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('package')
    .description('build a module image (scoring server + registered models) and optionally push it')
    .requiredOption('--model <name:version...>', 'registered model(s) to package (repeatable)')
    .requiredOption('--image <repository:tag>', 'image to build, e.g. myregistry.azurecr.io/scoring:1')
    .option('--platform <platform>', 'linux/amd64 or linux/arm64', 'linux/amd64')
    .option('--base-image <image>', 'node 20 base image (BASE_IMAGE build arg)', DEFAULT_BASE_IMAGE)
    .option('--entry-script <file>', 'JavaScript/TypeScript module with init() and run(data)')
    .option('--push', 'push the image after building it')
    .option('--pull', 'pull the base image when the Docker engine does not have it')
    .option('--output-dir <dir>', 'write the Dockerfile and build context here instead of building')
    .option('--registry-username <user>', 'registry user for --push / --pull')
    .option('--registry-password-env <variable>', 'environment variable holding the registry password')
    .option('--json', 'print one JSON document (no progress output)')
    .action(runCommand(ctx, packageCommand));
}
