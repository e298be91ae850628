import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../../common/errors.js';
import type { ScoringServerOptions } from '../../../modules/scoring/server-options.js';
import { materializeModel } from '../../registry/materialize.js';
import { parseModelRef } from '../../registry/model-ref.js';
import { type CliContext, modelportHome, withRegistry } from '../context.js';
import { collect, parsePort, parsePositiveInt } from '../parse-options.js';
import { type CommandResult, runCommand } from '../run-command.js';

interface Options {
  model?: string[];
  entryScript?: string;
  entryWorkers?: string;
  v2?: boolean;
  port?: string;
  host: string;
  bodyLimit?: string;
  workers?: string;
  intraOpThreads?: string;
  authKey?: string[];
  authKeyFile?: string;
  tokenSecretEnv?: string;
  protectHealth?: boolean;
  cors?: string[];
  maxBatchSize?: string;
  maxQueueDelayMs?: string;
  batch?: string[];
  executionProvider?: string[];
  epFallback?: string[];
  scoringTimeoutMs?: string;
  admin?: boolean;
  collectDir?: string;
  json?: boolean;
}

interface Served {
  name: string;
  version: string;
  dir: string;
  file: string | undefined;
}

/** Local deployment: the scoring server in this process, on registered models and/or an entry script. No Docker. */
export async function serve(opts: Options, ctx: CliContext): Promise<CommandResult> {
  const refs = (opts.model ?? []).map(parseModelRef);
  const script = opts.entryScript ? resolve(ctx.cwd, opts.entryScript) : undefined;
  if (refs.length === 0 && !script) {
    throw new UsageError(
      'MODEL_REQUIRED',
      'nothing to serve: give --model NAME[:VERSION] and/or --entry-script FILE',
    );
  }
  if (script && !existsSync(script))
    throw new UsageError('ENTRY_SCRIPT_NOT_FOUND', `entry script ${script} does not exist`);
  const port = parsePort(opts.port ?? ctx.env.MODELPORT_PORT ?? '5001');
  const serverOptions = await buildServerOptions(opts, ctx);

  const home = modelportHome(ctx.env);
  // Several models with a script get a folder of their own holding NAME/VERSION/ (Azure ML's layout),
  // so the script sees exactly the models deployed with it.
  const root =
    script && refs.length > 1
      ? join(
          home,
          'deployments',
          createHash('sha256')
            .update(opts.model?.join('\n') ?? '')
            .digest('hex')
            .slice(0, 12),
        )
      : join(home, 'models');
  const served = refs.length === 0 ? [] : await materialize(ctx, refs, root, Boolean(script));
  const names = new Set(served.map((s) => s.name));
  if (names.size !== served.length)
    throw new UsageError('MODEL_DUPLICATE', 'each model may be served once (one version per name)');

  // Loaded here, not at start-up: the server's dependencies would slow every other command.
  const { buildServer } = await import('../../../modules/scoring/server.js');
  const loadModels = !script || opts.v2 === true;
  const models = loadModels
    ? served.map((s) => {
        if (!s.file)
          throw new UsageError(
            'MODEL_NOT_ONNX',
            `model ${s.name}:${s.version} has no ONNX graph to serve on /v2`,
          );
        return { name: s.name, version: s.version, dir: s.dir, file: s.file };
      })
    : [];
  // Model-data collection to a folder: rate and fields from MODELPORT_COLLECT_* (rate 1 by default).
  const collectDir = opts.collectDir ? resolve(ctx.cwd, opts.collectDir) : undefined;
  const { collectFromEnv } = await import('../../../modules/scoring/collect/settings.js');
  const { collect } = collectDir ? collectFromEnv(ctx.env, { dir: collectDir, models: served }) : {};
  // Served anyway (the rate may be turned to 0 on purpose), but never silently: a warning says so.
  const warnings =
    collectDir && !collect
      ? [
          `--collect-dir ${collectDir} collects nothing: MODELPORT_COLLECT_RATE=${ctx.env.MODELPORT_COLLECT_RATE} (unset it for every request, or give a rate above 0)`,
        ]
      : [];
  const app = buildServer({
    ...serverOptions,
    models,
    logger: ctx.logger,
    ...(collect ? { collect } : {}),
    ...(script
      ? {
          entryScript: {
            file: script,
            workers: opts.entryWorkers ? parsePositiveInt(opts.entryWorkers, '--entry-workers') : 1,
            ...(served.length === 1 && served[0]
              ? { modelDir: served[0].dir }
              : served.length > 1
                ? { modelDir: root }
                : {}),
          },
        }
      : {}),
  });
  try {
    await app.scoringLoaded;
    await app.listen({ port, host: opts.host });
  } catch (e) {
    await app.close();
    throw e;
  }
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const base = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${actualPort}`;
  const untilDone = new Promise<void>((done) => {
    const stop = () => void app.close().then(() => done());
    if (ctx.shutdownSignal.aborted) stop();
    else ctx.shutdownSignal.addEventListener('abort', stop, { once: true });
  });
  const servedRefs = served.map((s) => `${s.name}:${s.version}`);
  return {
    result: {
      url: base,
      scoringUri: `${base}/score`,
      swaggerUri: `${base}/swagger.json`,
      models: servedRefs,
      ...(script
        ? {
            entryScript: script,
            modelDir: app.entryScript ? (served.length > 1 ? root : (served[0]?.dir ?? null)) : null,
          }
        : {}),
      auth: serverOptions.auth ? 'key' : 'none',
      ...(collect ? { collectDir, collectRate: collect.rate } : {}),
    },
    warnings,
    human: [
      `Serving ${[...servedRefs, ...(script ? [`entry script ${script}`] : [])].join(', ')}`,
      `  scoring uri  ${base}/score`,
      `  swagger uri  ${base}/swagger.json`,
      ...(models.length > 0 ? [`  v2           ${base}/v2/models/{name}/infer`] : []),
      `  metrics      ${base}/metrics`,
      ...(collect ? [`  collecting   ${collect.rate * 100}% of requests to ${collectDir}`] : []),
      'Press Ctrl-C to stop.',
    ],
    untilDone,
  };
}

/** The scoring server's options from `modelport serve` flags (models and entry script aside). */
export async function buildServerOptions(
  opts: Options,
  ctx: CliContext,
): Promise<Omit<ScoringServerOptions, 'models'>> {
  const { parseBatchOverride } = await import('../../../modules/scoring/batching/batch-settings.js');
  const int = (v: string | undefined, flag: string) =>
    v === undefined ? undefined : parsePositiveInt(v, flag);
  const delay = opts.maxQueueDelayMs === undefined ? undefined : Number(opts.maxQueueDelayMs);
  if (delay !== undefined && !(Number.isFinite(delay) && delay >= 0)) {
    throw new UsageError(
      'NUMBER_INVALID',
      `--max-queue-delay-ms '${opts.maxQueueDelayMs}' must be a number ≥ 0`,
    );
  }
  let tokenSecret: string | undefined;
  if (opts.tokenSecretEnv) {
    tokenSecret = ctx.env[opts.tokenSecretEnv];
    if (!tokenSecret)
      throw new UsageError(
        'TOKEN_SECRET_UNSET',
        `--token-secret-env: env variable ${opts.tokenSecretEnv} is not set`,
      );
  }
  const keys = opts.authKey ?? [];
  const auth = keys.length > 0 || opts.authKeyFile || tokenSecret;
  const perModel = Object.fromEntries((opts.batch ?? []).map(parseBatchOverride));
  const options: Omit<ScoringServerOptions, 'models'> = {
    threading: {
      workersPerModel: int(opts.workers, '--workers'),
      intraOpThreads: int(opts.intraOpThreads, '--intra-op-threads'),
    },
    batching: {
      models: perModel,
      ...(opts.maxBatchSize ? { maxBatchSize: parsePositiveInt(opts.maxBatchSize, '--max-batch-size') } : {}),
      ...(delay !== undefined ? { maxQueueDelayMs: delay } : {}),
    },
    executionProviders: opts.executionProvider ?? [],
    fallbackProviders: opts.epFallback ?? [],
    cors: { origins: opts.cors ?? [] },
    ...(opts.bodyLimit ? { bodyLimit: parsePositiveInt(opts.bodyLimit, '--body-limit') } : {}),
    ...(opts.scoringTimeoutMs
      ? { scoringTimeoutMs: parsePositiveInt(opts.scoringTimeoutMs, '--scoring-timeout-ms') }
      : {}),
    ...(opts.admin ? { admin: true } : {}),
  };
  if (auth) {
    options.auth = {
      keys,
      ...(opts.authKeyFile ? { keyFile: opts.authKeyFile } : {}),
      ...(tokenSecret ? { tokenSecret } : {}),
      protectHealth: opts.protectHealth === true,
    };
  }
  return options;
}

async function materialize(
  ctx: CliContext,
  refs: ReturnType<typeof parseModelRef>[],
  root: string,
  anyFramework: boolean,
): Promise<Served[]> {
  return withRegistry(ctx, async (registry) => {
    const out: Served[] = [];
    for (const ref of refs) {
      const model = registry.get(ref);
      if (!model.onnx && !anyFramework) {
        throw new UsageError(
          'MODEL_NOT_ONNX',
          `model ${model.name}:${model.version} has no ONNX graph to serve (framework ${model.framework})`,
          { hint: 'serve it with --entry-script FILE, whose init() loads it' },
        );
      }
      const { dir } = await materializeModel(registry, model, root);
      out.push({
        name: model.name,
        version: String(model.version),
        dir,
        file: model.onnx ? join(dir, ...model.onnx.file.split('/')) : undefined,
      });
    }
    return out;
  });
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description(
      'serve registered models and/or an entry script locally (the scoring server in this process; no Docker)',
    )
    .option('--model <name[:version]>', 'model to serve (repeatable)', collect)
    .option(
      '--entry-script <file>',
      "a JS/TS module with init() and run(data) that serves /score (Azure ML's score.py)",
    )
    .option(
      '--entry-workers <n>',
      'entry-script workers, each running init() once (default 1; WORKER_COUNT in images)',
    )
    .option('--v2', 'with --entry-script, also load the models for /v2 inference')
    .option('--port <port>', 'TCP port (default MODELPORT_PORT or 5001; 0 = any free port)')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--body-limit <bytes>', 'largest request body (default 10 MiB)')
    .option('--workers <n>', 'session worker threads per model (default 1)')
    .option('--intra-op-threads <n>', 'onnxruntime intra-op threads per session (default cores ÷ workers)')
    .option(
      '--auth-key <key>',
      'accepted key for Authorization: Bearer (repeatable: primary, secondary)',
      collect,
    )
    .option(
      '--auth-key-file <file>',
      'file of accepted keys, re-read when it changes (one per line, or {"primaryKey","secondaryKey"})',
    )
    .option(
      '--token-secret-env <VAR>',
      'accept signed expiring tokens (modelport token) made with the secret in env VAR',
    )
    .option('--protect-health', 'require a key on health routes too')
    .option('--cors <origin>', 'allowed CORS origin (repeatable; * only when given)', collect)
    .option('--max-batch-size <n>', 'rows per session run when batching (default 32)')
    .option('--max-queue-delay-ms <ms>', 'how long a request may wait for others to batch with (default 0)')
    .option(
      '--batch <name=setting>',
      'per-model batching: NAME=off, NAME=SIZE or NAME=SIZE,DELAY_MS (repeatable)',
      collect,
    )
    .option(
      '--execution-provider <ep>',
      'onnxruntime execution provider (repeatable, in order; default cpu)',
      collect,
    )
    .option(
      '--ep-fallback <ep>',
      'providers to use when the requested ones cannot run here (repeatable)',
      collect,
    )
    .option('--scoring-timeout-ms <ms>', 'per-request limit (default 3600000, as Azure ML)')
    .option('--admin', 'mount /admin (model hot swap) even without auth keys')
    .option(
      '--collect-dir <dir>',
      'append model-data collection records to DIR/collect-YYYY-MM-DD.jsonl (rate: MODELPORT_COLLECT_RATE, default 1)',
    )
    .option('--json', 'print one JSON document when serving starts')
    .action(runCommand(ctx, serve));
}

/** `modelport token`: mints an expiring token for a server started with --token-secret-env. */
export function registerToken(program: Command, ctx: CliContext): void {
  program
    .command('token')
    .description(
      'mint an expiring signed token for `modelport serve --token-secret-env VAR` (or MODELPORT_TOKEN_SECRET)',
    )
    .requiredOption('--secret-env <VAR>', 'env variable holding the secret the server was given')
    .option('--ttl <seconds>', 'lifetime in seconds', '3600')
    .option('--subject <name>', 'who the token is for (logged on use)')
    .option('--json', 'print one JSON document')
    .action(
      runCommand<{ secretEnv: string; ttl: string; subject?: string; json?: boolean }>(ctx, async (opts) => {
        const secret = ctx.env[opts.secretEnv];
        if (!secret) throw new UsageError('TOKEN_SECRET_UNSET', `env variable ${opts.secretEnv} is not set`);
        const ttl = parsePositiveInt(opts.ttl, '--ttl');
        const { mintToken } = await import('../../../modules/scoring/auth/tokens.js');
        const token = mintToken(secret, ttl, opts.subject ? { subject: opts.subject } : {});
        const expiresAt = new Date(Date.now() + ttl * 1000).toISOString();
        return { result: { token, expiresAt }, human: token };
      }),
    );
}
