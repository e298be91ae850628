/**
 * The process edge of `modelport-agent`: configuration (flags > env > defaults, once), the logger,
 * signals, exit codes. The only place that sets process.exitCode.
 *
 * Exit codes: 0 stopped by SIGINT/SIGTERM (or --help/--version), 1 a fatal runtime error (e.g. the
 * state database cannot be opened; an outbox that cannot be opened is not one: the agent runs on
 * and retries it), 2 bad flags or environment.
 */
import { accessSync, constants } from 'node:fs';
import Docker from 'dockerode';
import { isModelportError, messageOf } from '../common/errors.js';
import { createLogger } from '../common/logger.js';
import { Agent } from './agent.js';
import { type AgentConfig, resolveConfig } from './config.js';
import type { EdgeServices } from './hub/edge-services.js';
import { startEdgeServicesFor } from './hub/from-config.js';
import { agentMetricsRegistry } from './telemetry/agent-metrics.js';
import { type MetricsServer, startMetricsServer } from './telemetry/metrics-server.js';
import { agentVersion } from './version.js';

function isCommanderExit(e: unknown): e is { code: string; exitCode: number } {
  return (
    typeof (e as { code?: unknown })?.code === 'string' &&
    (e as { code: string }).code.startsWith('commander.')
  );
}

async function main(): Promise<number> {
  let config: AgentConfig;
  try {
    config = resolveConfig(process.argv.slice(2), process.env, agentVersion());
  } catch (e) {
    if (isCommanderExit(e)) return e.exitCode === 0 ? 0 : 2;
    process.stderr.write(`modelport-agent: ${messageOf(e)}\n`);
    if (isModelportError(e) && e.hint) process.stderr.write(`hint: ${e.hint}\n`);
    return isModelportError(e) ? e.exitCode : 2;
  }
  const logger = createLogger({ name: 'modelport-agent', level: config.logLevel });
  if (config.caFile !== undefined) {
    try {
      accessSync(config.caFile, constants.R_OK);
    } catch (e) {
      // Said once, loudly, but not fatal: the stored deployment still runs offline, and every
      // connection attempt reads the file again, so putting it in place is enough.
      logger.error(
        { event: 'ca-file-unreadable', caFile: config.caFile, err: messageOf(e) },
        `cannot read the --ca file ${config.caFile} (${messageOf(e)}): connections to IoT Hub will fail until it exists; give the PEM of the CA that signed the hub's certificate`,
      );
    }
  }
  const shutdown = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      logger.info({ event: 'shutdown', signal }, `received ${signal}, stopping (containers keep running)`);
      shutdown.abort();
    });
  }
  let services: EdgeServices | undefined;
  let metrics: MetricsServer | undefined;
  try {
    const docker = new Docker();
    // The local hub, outbox and telemetry first: module environments name the hub's port.
    services = await startEdgeServicesFor(config, { docker, log: logger });
    const agent = new Agent({ config, logger, docker, edgeServices: services });
    const edge = services;
    if (config.metricsPort > 0)
      metrics = await startMetricsServer({
        host: config.metricsHost,
        port: config.metricsPort,
        registry: agentMetricsRegistry({ edge: () => edge.metrics(), agent: () => agent.figures() }),
        log: logger.child({ component: 'metrics' }),
      });
    logger.info(
      { event: 'agent-started', mode: config.mode, home: config.home, agentId: config.agentId },
      `modelport-agent ${agentVersion()} started (${config.mode === 'file' ? `manifest ${config.manifest}` : `IoT Hub ${config.hostName}`})`,
    );
    await agent.run(shutdown.signal);
    return 0;
  } catch (e) {
    logger.fatal({ event: 'agent-failed', err: messageOf(e) }, `modelport-agent stopped: ${messageOf(e)}`);
    process.stderr.write(`modelport-agent: ${messageOf(e)}\n`);
    if (isModelportError(e) && e.hint) process.stderr.write(`hint: ${e.hint}\n`);
    return 1;
  } finally {
    await metrics?.close();
    await services
      ?.stop()
      .catch((e: unknown) =>
        logger.error(
          { event: 'edge-services-stop-failed', err: messageOf(e) },
          'stopping the local hub failed',
        ),
      );
  }
}

process.exitCode = await main();
