/**
 * The scoring container's entry: `node dist/modules/scoring/main.js`. Reads the environment once
 * (config.ts), builds the server, listens on MODELPORT_PORT (default 5001) on every interface, and
 * closes with grace on SIGTERM/SIGINT. A model or entry script that cannot load ends the process
 * with a non-zero code and a message naming it, so the device's runtime restarts or reports it; model
 * files that do not match MODELPORT_EXPECTED_MODELS end it with 78 (integrity.ts) before anything loads.
 */
process.env.ORT_DISABLE_TELEMETRY ??= '1'; // before onnxruntime loads anywhere in this process

const { createLogger } = await import('../../common/logger.js');
const { isModelportError, messageOf } = await import('../../common/errors.js');
const { configFromEnv } = await import('./config.js');
const { buildServer } = await import('./server.js');
const { expectedModelsFromEnv, verifyModelIntegrity } = await import('./integrity.js');

const CLOSE_GRACE_MS = 10_000;

async function main(): Promise<number> {
  let config: ReturnType<typeof configFromEnv>;
  try {
    config = configFromEnv(process.env);
  } catch (e) {
    process.stderr.write(`modelport scoring: ${messageOf(e)}\n`);
    if (isModelportError(e) && e.hint) process.stderr.write(`hint: ${e.hint}\n`);
    return 2;
  }
  const logger = createLogger({ name: 'modelport-scoring', level: config.logLevel });
  for (const warning of config.warnings) logger.warn(warning);
  // The deployment's expected digests (MODELPORT_EXPECTED_MODELS): the files must be the registered ones.
  try {
    const expected = expectedModelsFromEnv(process.env);
    if (expected) {
      const verified = await verifyModelIntegrity(config.deployed, expected);
      logger.info({ verified }, 'model files match their registered digests');
    }
  } catch (e) {
    logger.fatal({ err: e }, messageOf(e));
    process.stderr.write(`modelport scoring: ${messageOf(e)}\n`);
    return isModelportError(e) ? e.exitCode : 1;
  }
  const app = buildServer({ ...config.server, logger });

  let stopping: Promise<void> | undefined;
  const stop = (reason: string) => {
    stopping ??= (async () => {
      logger.info({ reason }, 'shutting down');
      const force = setTimeout(() => {
        logger.warn({ graceMs: CLOSE_GRACE_MS }, 'requests still running after the grace period; exiting');
        process.exit(1);
      }, CLOSE_GRACE_MS);
      force.unref();
      await app.close();
      clearTimeout(force);
    })();
    return stopping;
  };
  const exited = new Promise<number>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const)
      process.once(signal, () => void stop(signal).then(() => resolve(0)));
    // A model or the entry script that cannot load: the server cannot do its job.
    app.scoringLoaded.catch((e: unknown) => {
      logger.fatal({ err: e }, `cannot serve: ${messageOf(e)}`);
      process.stderr.write(`modelport scoring: ${messageOf(e)}\n`);
      void stop('load failed').then(() => resolve(1));
    });
  });
  try {
    await app.listen({ host: config.listen.host, port: config.listen.port });
  } catch (e) {
    process.stderr.write(
      `modelport scoring: cannot listen on ${config.listen.host}:${config.listen.port}: ${messageOf(e)}\n`,
    );
    await app.close();
    return 1;
  }
  const address = app.server.address();
  logger.info(
    {
      port: typeof address === 'object' && address ? address.port : config.listen.port,
      models: app.modelHost.sources.map((s) => `${s.name}:${s.version}`),
      entryScript: config.server.entryScript?.file,
    },
    'scoring server listening',
  );
  app.scoringLoaded.then(
    () => logger.info('ready: every model and the entry script have loaded'),
    () => undefined,
  );
  return exited;
}

process.exitCode = await main();
