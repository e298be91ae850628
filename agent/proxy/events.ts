import { messageOf } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';

/** Named log events of the agent's reverse proxy; logic never builds log strings. */
export function proxyEvents(log: Logger) {
  const short = (id: string | undefined) => (id === undefined ? 'nothing' : id.slice(0, 12));
  return {
    listening: (module: string, port: number) =>
      log.info(
        { event: 'proxy-listening', module, port },
        `proxy: port ${port} of module '${module}' is open`,
      ),
    switched: (module: string, port: number, from: string | undefined, to: string, address: string) =>
      log.info(
        { event: 'proxy-switched', module, port, from, to, address },
        `proxy: port ${port} of module '${module}' now goes to ${short(to)} (${address}), was ${short(from)}`,
      ),
    drained: (containerId: string, ms: number, leftInFlight: number) =>
      log.info(
        { event: 'proxy-drained', container: containerId, ms, leftInFlight },
        leftInFlight === 0
          ? `proxy: ${short(containerId)} drained in ${ms} ms`
          : `proxy: ${short(containerId)} still had ${leftInFlight} request(s) in flight after ${ms} ms; letting go`,
      ),
    upstreamFailed: (module: string, containerId: string, err: unknown, retried: boolean) =>
      log.warn(
        { event: 'proxy-upstream-failed', module, container: containerId, err: messageOf(err), retried },
        `proxy: request to ${short(containerId)} of module '${module}' failed${retried ? ' (retried once)' : ''}: ${messageOf(err)}`,
      ),
    serverFailed: (module: string, port: number, err: unknown) =>
      log.error(
        { event: 'proxy-server-failed', module, port, err: messageOf(err) },
        `proxy: port ${port} of module '${module}': ${messageOf(err)}`,
      ),
    unrouted: (module: string, port: number) =>
      log.info({ event: 'proxy-unrouted', module, port }, `proxy: port ${port} of module '${module}' closed`),
  };
}

export type ProxyEvents = ReturnType<typeof proxyEvents>;
