import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../../common/errors.js';
import { materializeModel } from '../../registry/materialize.js';
import { parseModelRef } from '../../registry/model-ref.js';
import { type CliContext, modelportHome, withRegistry } from '../context.js';
import { collect, parsePort, parsePositiveInt } from '../parse-options.js';
import { type CommandResult, runCommand } from '../run-command.js';

interface Options {
  model: string[];
  port?: string;
  host: string;
  bodyLimit?: string;
  workers?: string;
  json?: boolean;
}

/** Local deployment: the scoring server in this process, on registered models. No Docker. */
export async function serve(opts: Options, ctx: CliContext): Promise<CommandResult> {
  const port = parsePort(opts.port ?? ctx.env.MODELPORT_PORT ?? '5001');
  const bodyLimit = opts.bodyLimit ? parsePositiveInt(opts.bodyLimit, '--body-limit') : undefined;
  const workers = opts.workers ? parsePositiveInt(opts.workers, '--workers') : undefined;
  const refs = opts.model.map(parseModelRef);
  const root = join(modelportHome(ctx.env), 'models');
  const sources = await withRegistry(ctx, async (registry) => {
    const out = [];
    for (const ref of refs) {
      const model = registry.get(ref);
      if (!model.onnx) {
        throw new UsageError(
          'MODEL_NOT_ONNX',
          `model ${model.name}:${model.version} has no ONNX graph to serve (framework ${model.framework})`,
        );
      }
      const { dir } = await materializeModel(registry, model, root);
      out.push({
        name: model.name,
        version: String(model.version),
        dir,
        file: join(dir, ...model.onnx.file.split('/')),
      });
    }
    return out;
  });
  const names = new Set(sources.map((s) => s.name));
  if (names.size !== sources.length)
    throw new UsageError('MODEL_DUPLICATE', 'each model may be served once (one version per name)');

  // Loaded here, not at start-up: the server's dependencies would slow every other command.
  const { buildServer } = await import('../../../modules/scoring/server.js');
  const app = buildServer({
    models: sources,
    logger: ctx.logger,
    ...(bodyLimit ? { bodyLimit } : {}),
    ...(workers ? { workersPerModel: workers } : {}),
  });
  try {
    await app.modelHost.loaded;
    await app.listen({ port, host: opts.host });
  } catch (e) {
    await app.close();
    throw e;
  }
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const base = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${actualPort}`;
  const untilDone = new Promise<void>((resolve) => {
    const stop = () => void app.close().then(() => resolve());
    if (ctx.shutdownSignal.aborted) stop();
    else ctx.shutdownSignal.addEventListener('abort', stop, { once: true });
  });
  return {
    result: {
      url: base,
      scoringUri: `${base}/score`,
      swaggerUri: `${base}/swagger.json`,
      models: sources.map((s) => `${s.name}:${s.version}`),
    },
    human: [
      `Serving ${sources.map((s) => `${s.name}:${s.version}`).join(', ')}`,
      `  scoring uri  ${base}/score`,
      `  swagger uri  ${base}/swagger.json`,
      `  v2           ${base}/v2/models/{name}/infer`,
      'Press Ctrl-C to stop.',
    ],
    untilDone,
  };
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('serve registered models locally (the scoring server in this process; no Docker)')
    .requiredOption('--model <name[:version]>', 'model to serve (repeatable)', collect)
    .option('--port <port>', 'TCP port (default MODELPORT_PORT or 5001; 0 = any free port)')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--body-limit <bytes>', 'largest request body (default 10 MiB)')
    .option('--workers <n>', 'session worker threads per model')
    .option('--json', 'print one JSON document when serving starts')
    .action(runCommand(ctx, serve));
}
