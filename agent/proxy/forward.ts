/**
 * Forwards one client request to the module's current container. The client's keep-alive connection
 * belongs to the proxy, so it survives a switch of containers: each request goes to whichever
 * container is current when it arrives, and the previous one keeps answering what it already took.
 *
 * A request whose upstream keep-alive socket turns out to be closed by the container (ECONNRESET on a
 * reused socket, before any answer) is sent once more on a new connection — to the container current
 * by then — when its body was small enough to keep (≤ REPLAY_LIMIT_BYTES): this is the race Node's
 * docs describe for keep-alive clients, and it is what would otherwise fail a request during a swap.
 */
import http from 'node:http';
import { messageOf } from '../../common/errors.js';
import type { Upstream } from './upstream.js';

/** Request bodies up to this size are kept so the request can be replayed once on a reset socket. */
export const REPLAY_LIMIT_BYTES = 1024 * 1024;

/** RFC 9110 §7.6.1 connection-specific fields: never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function endToEnd(headers: http.IncomingHttpHeaders | http.OutgoingHttpHeaders): http.OutgoingHttpHeaders {
  const named = new Set(
    String(headers['connection'] ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: http.OutgoingHttpHeaders = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(key) && !named.has(key)) out[key] = value;
  }
  return out;
}

export interface ForwardTarget {
  module: string;
  /** The container requests go to now (undefined: the module has none yet). */
  current(): Upstream | undefined;
  onUpstreamError(upstream: Upstream, err: unknown, retried: boolean): void;
}

/** Kept request body: replayable only when it ended within the limit. */
class BodyCopy {
  readonly chunks: Buffer[] = [];
  private bytes = 0;
  private ended = false;
  private overflow = false;

  constructor(req: http.IncomingMessage) {
    req.on('data', (chunk: Buffer) => {
      if (this.overflow) return;
      this.bytes += chunk.length;
      if (this.bytes > REPLAY_LIMIT_BYTES) {
        this.overflow = true;
        this.chunks.length = 0;
      } else this.chunks.push(chunk);
    });
    req.on('end', () => {
      this.ended = true;
    });
  }

  get replayable(): boolean {
    return this.ended && !this.overflow;
  }
}

function reply(res: http.ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Handles one request on a module's public port. */
export function forward(target: ForwardTarget, req: http.IncomingMessage, res: http.ServerResponse): void {
  const body = new BodyCopy(req);
  const forwardedFor = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ');
  const headers = { ...endToEnd(req.headers), 'x-forwarded-for': forwardedFor };

  const attempt = (replay: boolean): void => {
    const upstream = target.current();
    if (!upstream) {
      reply(res, 503, 'MODULE_NOT_READY', `module '${target.module}' has no running container yet`);
      req.resume();
      return;
    }
    upstream.acquire();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      upstream.release();
    };
    const outgoing = http.request({
      host: upstream.address.host,
      port: upstream.address.port,
      method: req.method,
      path: req.url,
      headers,
      agent: upstream.agent,
    });
    outgoing.on('response', (incoming) => {
      res.writeHead(incoming.statusCode ?? 502, incoming.statusMessage, endToEnd(incoming.headers));
      incoming.pipe(res);
      incoming.on('end', release);
      incoming.on('error', (err) => {
        release();
        target.onUpstreamError(upstream, err, false);
        res.destroy();
      });
    });
    outgoing.on('error', (err) => {
      release();
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      const reset = (err as NodeJS.ErrnoException).code === 'ECONNRESET' && outgoing.reusedSocket;
      if (!replay && reset && body.replayable) {
        target.onUpstreamError(upstream, err, true);
        attempt(true);
        return;
      }
      target.onUpstreamError(upstream, err, false);
      reply(res, 502, 'MODULE_UNAVAILABLE', `module '${target.module}' did not answer: ${messageOf(err)}`);
    });
    // The client went away before the answer was complete: stop the upstream request too.
    res.on('close', () => {
      if (!res.writableFinished) outgoing.destroy();
      release();
    });
    if (replay) {
      for (const chunk of body.chunks) outgoing.write(chunk);
      outgoing.end();
    } else req.pipe(outgoing);
  };
  attempt(false);
}
