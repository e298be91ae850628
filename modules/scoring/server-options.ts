import type { Logger } from '../../common/logger.js';
import type { AuthOptions } from './auth/auth-hook.js';
import type { BatchingConfig } from './batching/batch-settings.js';
import type { CollectOptions } from './collect/settings.js';
import type { CorsOptions } from './cors.js';
import type { EntryScriptOptions } from './entry/entry-host.js';
import type { ModelSource } from './model-source.js';
import type { ThreadingOptions } from './session-options.js';

export const DEFAULT_BODY_LIMIT = 10 * 1024 * 1024;
/** Time a client has to send a whole request (headers and body). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** A model whose batch-1 run takes at most this (ms) runs lone requests on the HTTP thread. */
export const DEFAULT_INLINE_RUN_MAX_MS = 0.5;
/** Azure ML's default scoring timeout (SCORING_TIMEOUT_MS). */
export const DEFAULT_SCORING_TIMEOUT_MS = 3_600_000;

export interface ScoringServerOptions {
  /** ONNX models served by /score (without an entry script) and /v2. */
  models: ModelSource[];
  /** An entry script that serves /score (init()/run(), as in Azure ML). */
  entryScript?: EntryScriptOptions;
  /** Largest accepted request body in bytes (default 10 MiB). */
  bodyLimit?: number;
  /** A pino logger, or false for none (tests). */
  logger?: Logger | false;
  /** Session workers per model, intra-op threads, spinning (see session-options.ts). */
  threading?: Omit<ThreadingOptions, 'executionProviders'>;
  /** Execution providers to run sessions on (default cpu), and what to use when they cannot run here. */
  executionProviders?: string[];
  fallbackProviders?: string[];
  batching?: BatchingConfig;
  /** Per-request limit in ms (queue + run); past it the reply is a 500 "Scoring timeout". */
  scoringTimeoutMs?: number;
  /**
   * Models whose batch-1 run takes at most this many ms (measured at load) also get a session on
   * the HTTP thread, used for lone requests while the worker is idle (default 0.5; 0 = never).
   */
  inlineRunMaxMs?: number;
  /** Requests waiting per model beyond which new ones get 503 (default 4096). */
  maxQueue?: number;
  auth?: AuthOptions;
  cors?: CorsOptions;
  /** Mount /admin (model hot swap); default: on when auth is configured. */
  admin?: boolean;
  /** Also export process metrics (CPU, memory, event loop lag) on /metrics. */
  processMetrics?: boolean;
  serviceName?: string;
  serviceVersion?: string;
  /** Routes also answer under this prefix (SERVICE_PATH_PREFIX), e.g. /my-service/score. */
  pathPrefix?: string;
  /** Folder whose swagger.json / swagger3.json override the generated documents (AML_APP_ROOT). */
  appRoot?: string;
  /** Socket timeouts in ms (fastify's connectionTimeout, requestTimeout, keepAliveTimeout). */
  connectionTimeout?: number;
  requestTimeout?: number;
  keepAliveTimeout?: number;
  /** Model-data collection (collect/settings.ts collectFromEnv); none when absent. */
  collect?: CollectOptions;
}
