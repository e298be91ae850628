import { isAbsolute, resolve } from 'node:path';
import { ModelportError } from '../../common/errors.js';
import {
  type BatchingConfig,
  type ModelBatchOverride,
  parseBatchOverride,
} from './batching/batch-settings.js';
import { collectFromEnv } from './collect/settings.js';
import { type ModelSource, modelsFromEnvironment } from './model-source.js';
import { DEFAULT_BODY_LIMIT, type ScoringServerOptions } from './server-options.js';

export interface ServerConfig {
  server: Omit<ScoringServerOptions, 'logger'>;
  /** Every model laid out under AZUREML_MODEL_DIR (served, or the entry script's to load). */
  deployed: ModelSource[];
  listen: { host: string; port: number };
  logLevel: string;
  /** Settings that were given but do nothing here, to log at start. */
  warnings: string[];
}

/**
 * The scoring container's settings, read from the environment once at start-up (Azure ML's names
 * where it has one, MODELPORT_* for the rest; README "The scoring server" lists them all).
 */
export function configFromEnv(env: NodeJS.ProcessEnv): ServerConfig {
  const appRoot = env.AML_APP_ROOT || '/var/azureml-app';
  const entry = env.AZUREML_ENTRY_SCRIPT;
  const script = entry ? (isAbsolute(entry) ? entry : resolve(appRoot, entry)) : undefined;
  const modelDir = env.AZUREML_MODEL_DIR || undefined;
  // With an entry script the models are the script's to load; the server loads them too only when
  // asked (MODELPORT_V2_MODELS=1), for /v2.
  const loadModels = !script || flag(env.MODELPORT_V2_MODELS, 'MODELPORT_V2_MODELS');
  const server: Omit<ScoringServerOptions, 'logger'> = {
    models: [],
    bodyLimit: int(env.MODELPORT_BODY_LIMIT, 'MODELPORT_BODY_LIMIT') ?? DEFAULT_BODY_LIMIT,
    scoringTimeoutMs: int(env.SCORING_TIMEOUT_MS, 'SCORING_TIMEOUT_MS'),
    serviceName: env.SERVICE_NAME || 'ML service',
    serviceVersion: env.SERVICE_VERSION || '1.0',
    ...(env.SERVICE_PATH_PREFIX ? { pathPrefix: env.SERVICE_PATH_PREFIX } : {}),
    appRoot,
    processMetrics: true,
    // No socket idle timer by default: requestTimeout bounds a request, keepAliveTimeout an idle
    // connection, and a per-socket timer would be re-armed on every read and write.
    connectionTimeout: int(env.MODELPORT_CONNECTION_TIMEOUT_MS, 'MODELPORT_CONNECTION_TIMEOUT_MS') ?? 0,
    requestTimeout: int(env.MODELPORT_REQUEST_TIMEOUT_MS, 'MODELPORT_REQUEST_TIMEOUT_MS') ?? 60_000,
    threading: {
      workersPerModel: int(env.MODELPORT_SESSION_WORKERS, 'MODELPORT_SESSION_WORKERS'),
      intraOpThreads: int(env.MODELPORT_INTRA_OP_THREADS, 'MODELPORT_INTRA_OP_THREADS'),
      allowSpinning:
        env.MODELPORT_ALLOW_SPINNING === undefined
          ? undefined
          : flag(env.MODELPORT_ALLOW_SPINNING, 'MODELPORT_ALLOW_SPINNING'),
    },
    inlineRunMaxMs: number(env.MODELPORT_INLINE_RUN_MAX_MS, 'MODELPORT_INLINE_RUN_MAX_MS'),
    executionProviders: list(env.MODELPORT_EXECUTION_PROVIDERS),
    fallbackProviders: list(env.MODELPORT_EP_FALLBACK),
    batching: batchingFromEnv(env),
    auth: {
      keys: list(env.MODELPORT_AUTH_KEYS),
      ...(env.MODELPORT_AUTH_KEY_FILE ? { keyFile: env.MODELPORT_AUTH_KEY_FILE } : {}),
      ...(env.MODELPORT_TOKEN_SECRET ? { tokenSecret: env.MODELPORT_TOKEN_SECRET } : {}),
      protectHealth: flag(env.MODELPORT_PROTECT_HEALTH, 'MODELPORT_PROTECT_HEALTH'),
    },
    cors: { origins: list(env.AML_CORS_ORIGINS) },
  };
  const listen = {
    host: env.MODELPORT_HOST || '0.0.0.0',
    port: int(env.MODELPORT_PORT, 'MODELPORT_PORT', 0) ?? 5001,
  };
  // Last: the model folder is read only once every setting is known to be valid.
  const deployed = modelDir || !script ? modelsFromEnvironment(env) : [];
  if (loadModels) server.models = deployed;
  const collect = collectFromEnv(env, { models: deployed });
  if (collect.collect) server.collect = collect.collect;
  if (env.MODELPORT_ADMIN !== undefined) server.admin = flag(env.MODELPORT_ADMIN, 'MODELPORT_ADMIN');
  if (script) {
    server.entryScript = {
      file: script,
      workers: int(env.WORKER_COUNT, 'WORKER_COUNT') ?? 1,
      ...(modelDir ? { modelDir } : {}),
    };
  }
  return {
    server,
    deployed,
    listen,
    logLevel: env.MODELPORT_LOG_LEVEL || azureLogLevel(env.AZUREML_LOG_LEVEL) || 'info',
    warnings: collect.unsent ? [collect.unsent] : [],
  };
}

/**
 * MODELPORT_MAX_BATCH_SIZE, MODELPORT_MAX_QUEUE_DELAY_MS (defaults for models with a batch
 * dimension) and MODELPORT_BATCHING="name=off;other=16,2" (per model: off, SIZE or SIZE,DELAY_MS).
 */
export function batchingFromEnv(env: NodeJS.ProcessEnv): BatchingConfig {
  const models: Record<string, ModelBatchOverride> = {};
  for (const item of (env.MODELPORT_BATCHING ?? '')
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name, setting] = parseBatchOverride(item);
    models[name] = setting;
  }
  const config: BatchingConfig = { models };
  const size = int(env.MODELPORT_MAX_BATCH_SIZE, 'MODELPORT_MAX_BATCH_SIZE');
  const delay = number(env.MODELPORT_MAX_QUEUE_DELAY_MS, 'MODELPORT_MAX_QUEUE_DELAY_MS');
  if (size !== undefined) config.maxBatchSize = size;
  if (delay !== undefined) config.maxQueueDelayMs = delay;
  return config;
}

function list(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function invalid(name: string, text: string, want: string): ModelportError {
  return new ModelportError('CONFIG_INVALID', `${name}='${text}' is not ${want}`, { exitCode: 2 });
}

function int(text: string | undefined, name: string, min = 1): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw invalid(name, text, `an integer ≥ ${min}`);
  return n;
}

function number(text: string | undefined, name: string): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw invalid(name, text, 'a non-negative number');
  return n;
}

function flag(text: string | undefined, name: string): boolean {
  if (text === undefined || text === '') return false;
  if (/^(1|true|yes|on)$/i.test(text)) return true;
  if (/^(0|false|no|off)$/i.test(text)) return false;
  throw invalid(name, text, 'a boolean (1/0, true/false)');
}

function azureLogLevel(level: string | undefined): string | undefined {
  if (!level) return undefined;
  const map: Record<string, string> = {
    DEBUG: 'debug',
    INFO: 'info',
    WARNING: 'warn',
    WARN: 'warn',
    ERROR: 'error',
    CRITICAL: 'fatal',
  };
  return map[level.toUpperCase()];
}
