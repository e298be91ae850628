/**
 * The agent's reverse proxy for start-first modules (agent/reconcile/start-first.ts): one HTTP
 * listener per module on its public port, forwarding each request to the module's current container.
 * Switching containers is one assignment, so it never breaks a client's connection; the previous
 * container is kept until it is drained. The routing table lives in memory: after a restart the
 * planner sees no container routed and routes the up-to-date one again (once it answers ready).
 *
 * While the agent is down, start-first modules' public ports are closed: the proxy is part of the
 * agent process (the price of keeping the manifest's module unchanged for the real IoT Edge runtime).
 */
import http from 'node:http';
import net from 'node:net';
import { ModelportError, messageOf, UnavailableError } from '../../common/errors.js';
import type { Address } from '../health/probe.js';
import type { CurrentContainer } from '../reconcile/types.js';
import type { ProxyControl } from '../runtime/executors.js';
import type { ProxyEvents } from './events.js';
import { forward } from './forward.js';
import { Upstream } from './upstream.js';

export interface ModuleProxyOptions {
  events: ProxyEvents;
  /** Where public ports listen (default 0.0.0.0, as the modules themselves would). */
  host?: string;
  /** Client keep-alive: longer than clients' own idle timeouts, as fastify does (default 72 s). */
  keepAliveTimeoutMs?: number;
  /** How long closing a port waits for its open requests (default 10 s). */
  closeGraceMs?: number;
}

interface Listener {
  module: string;
  port: number;
  server: http.Server;
  current: Upstream | undefined;
}

export interface RouteEntry {
  module: string;
  port: number;
  containerId: string | undefined;
  address: string | undefined;
  requestsInFlight: number;
}

export class ModuleProxy implements ProxyControl {
  private readonly listeners = new Map<string, Listener>();
  /** Containers switched away from, by id, until they are drained. */
  private readonly retired = new Map<string, Upstream>();

  constructor(private readonly options: ModuleProxyOptions) {}

  /** A port free on this host now, for a new container to listen on. */
  allocatePort(): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = net.createServer();
      server.unref();
      server.on('error', (e) =>
        reject(new UnavailableError('PORT_ALLOCATION_FAILED', `cannot find a free port: ${messageOf(e)}`)),
      );
      server.listen(0, this.options.host ?? '0.0.0.0', () => {
        const address = server.address();
        const port = typeof address === 'object' && address ? address.port : 0;
        server.close(() => resolve(port));
      });
    });
  }

  async route(module: string, publicPort: number, target: { containerId: string } & Address): Promise<void> {
    let listener = this.listeners.get(module);
    if (listener && listener.port !== publicPort) {
      await this.unroute(module);
      listener = undefined;
    }
    const current = listener?.current;
    if (
      current?.containerId === target.containerId &&
      current.address.host === target.host &&
      current.address.port === target.port
    )
      return;
    const back = this.retired.get(target.containerId);
    const next =
      back && back.address.host === target.host && back.address.port === target.port
        ? back
        : new Upstream(target.containerId, { host: target.host, port: target.port });
    this.retired.delete(target.containerId);
    if (!listener) {
      try {
        listener = await this.listen(module, publicPort);
      } catch (e) {
        next.destroy();
        throw e;
      }
    }
    listener.current = next;
    if (current) this.retired.set(current.containerId, current);
    this.options.events.switched(module, publicPort, current?.containerId, target.containerId, next.label);
  }

  async drain(containerId: string, timeoutMs: number): Promise<void> {
    const upstream = this.retired.get(containerId);
    // Never routed to (e.g. after an agent restart), or still current: nothing to wait for here.
    if (!upstream) return;
    const started = Date.now();
    const left = await upstream.idle(timeoutMs);
    this.retired.delete(containerId);
    upstream.destroy();
    this.options.events.drained(containerId, Date.now() - started, left);
  }

  async unroute(module: string): Promise<void> {
    const listener = this.listeners.get(module);
    if (!listener) return;
    this.listeners.delete(module);
    const { server } = listener;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => server.closeAllConnections(), this.options.closeGraceMs ?? 10_000);
      server.close(() => {
        clearTimeout(force);
        resolve();
      });
      server.closeIdleConnections();
    });
    listener.current?.destroy();
    this.options.events.unrouted(module, listener.port);
  }

  /** The routing table, for reports and tests. */
  routes(): RouteEntry[] {
    return [...this.listeners.values()].map((l) => ({
      module: l.module,
      port: l.port,
      containerId: l.current?.containerId,
      address: l.current?.label,
      requestsInFlight: l.current?.requestsInFlight ?? 0,
    }));
  }

  /** Current state for the planner: which container of each module gets its public port. */
  annotate<T extends CurrentContainer>(containers: readonly T[]): T[] {
    return containers.map((c) => ({
      ...c,
      routed: this.listeners.get(c.module)?.current?.containerId === c.id,
    }));
  }

  /** Closes every public port and lets every container go (agent shutdown). */
  async close(): Promise<void> {
    await Promise.all([...this.listeners.keys()].map((m) => this.unroute(m)));
    for (const upstream of this.retired.values()) upstream.destroy();
    this.retired.clear();
  }

  private listen(module: string, port: number): Promise<Listener> {
    const host = this.options.host ?? '0.0.0.0';
    const listener: Listener = { module, port, server: http.createServer(), current: undefined };
    const { server } = listener;
    server.keepAliveTimeout = this.options.keepAliveTimeoutMs ?? 72_000;
    // Headers of a new request on a kept-alive connection must be allowed longer than the idle wait.
    server.headersTimeout = server.keepAliveTimeout + 5_000;
    server.on('request', (req, res) =>
      forward(
        {
          module,
          current: () => listener.current,
          onUpstreamError: (upstream, err, retried) =>
            this.options.events.upstreamFailed(module, upstream.containerId, err, retried),
        },
        req,
        res,
      ),
    );
    return new Promise((resolve, reject) => {
      const failed = (e: NodeJS.ErrnoException) => {
        const inUse = e.code === 'EADDRINUSE';
        reject(
          new ModelportError(
            inUse ? 'PROXY_PORT_IN_USE' : 'PROXY_LISTEN_FAILED',
            `cannot open port ${port} of module '${module}' on ${host}: ${messageOf(e)}`,
            {
              hint: inUse
                ? 'another process (or a container of the module not created behind the proxy) listens on it; the agent retries'
                : 'check the module env MODELPORT_PORT',
              cause: e,
            },
          ),
        );
      };
      server.once('error', failed);
      server.listen(port, host, () => {
        server.off('error', failed);
        // After listening, an accept error (EMFILE) must not end the agent: log it, keep serving.
        server.on('error', (e) => this.options.events.serverFailed(module, port, e));
        this.listeners.set(module, listener);
        this.options.events.listening(module, port);
        resolve(listener);
      });
    });
  }
}
