/**
 * The agent's reverse proxy for start-first modules, with real HTTP servers as containers: switching
 * targets under keep-alive load fails no request, draining waits for what is in flight (bounded), a
 * request on an upstream socket the container closed is replayed once, errors are JSON.
 */
import http from 'node:http';
import net from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { proxyEvents } from '../../../agent/proxy/events.js';
import { REPLAY_LIMIT_BYTES } from '../../../agent/proxy/forward.js';
import { ModuleProxy } from '../../../agent/proxy/module-proxy.js';
import { isModelportError } from '../../../common/errors.js';
import { createLogger } from '../../../common/logger.js';
import { container, mod } from '../../helpers/state.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Log lines the proxy wrote (pino JSON), parsed. */
function recordingProxy(): { proxy: ModuleProxy; events: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ name: 'proxy-test', level: 'debug', destination: sink });
  const proxy = new ModuleProxy({ events: proxyEvents(logger), host: '127.0.0.1', closeGraceMs: 500 });
  cleanups.push(() => proxy.close());
  return { proxy, events: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** A "container": answers `name` (and echoes bodies and headers on /echo); `/slow` waits for release(). */
async function upstream(name: string) {
  const pending: (() => void)[] = [];
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/slow') {
        pending.push(() => res.end(`${name} slow`));
        return;
      }
      if (req.url === '/echo') {
        res.setHeader('x-upstream', name);
        res.setHeader('connection', 'keep-alive, x-secret');
        res.setHeader('x-secret', 'hop-by-hop by the connection header');
        res.end(JSON.stringify({ body: Buffer.concat(chunks).length, headers: req.headers }));
        return;
      }
      res.end(name);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return {
    port,
    target: { containerId: `${name}`.padEnd(64, '0'), host: '127.0.0.1', port },
    release: () => {
      for (const p of pending.splice(0)) p();
    },
    waitingCount: () => pending.length,
    requests: () => requests,
  };
}

async function publicPort(proxy: ModuleProxy): Promise<number> {
  return proxy.allocatePort();
}

/** GET through a keep-alive agent; resolves with status and body, or the error. */
function get(port: number, path: string, agent?: http.Agent) {
  return new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>(
    (resolve, reject) => {
      // Without an agent: a new connection each time (Node's global agent would keep one alive).
      const req = http.get({ host: '127.0.0.1', port, path, agent: agent ?? false }, (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        res.on('error', reject);
      });
      req.on('error', reject);
    },
  );
}

describe('ModuleProxy: routing', () => {
  it('answers 503 JSON before a container is routed, then forwards to it', async () => {
    const { proxy } = recordingProxy();
    const a = await upstream('a');
    const port = await publicPort(proxy);
    // Listening starts with the first route; a request before it has nowhere to go.
    await proxy.route('web', port, a.target);
    await proxy.route('web', port, a.target); // the same target again: nothing changes
    expect(await get(port, '/')).toMatchObject({ status: 200, body: 'a' });
    expect(proxy.routes()).toEqual([
      {
        module: 'web',
        port,
        containerId: a.target.containerId,
        address: `127.0.0.1:${a.port}`,
        requestsInFlight: 0,
      },
    ]);
  });

  it('passes status, body and end-to-end headers, drops hop-by-hop ones, adds x-forwarded-for', async () => {
    const { proxy } = recordingProxy();
    const a = await upstream('a');
    const port = await publicPort(proxy);
    await proxy.route('web', port, a.target);
    const res = await fetch(`http://127.0.0.1:${port}/echo`, {
      method: 'POST',
      headers: { 'x-request-id': 'r-1', 'proxy-authorization': 'Basic eA==' },
      body: 'x'.repeat(REPLAY_LIMIT_BYTES + 10), // larger than what is kept for a replay: streamed
    });
    const echoed = (await res.json()) as { body: number; headers: Record<string, string> };
    expect(res.status).toBe(200);
    expect(res.headers.get('x-upstream')).toBe('a');
    expect(res.headers.get('x-secret')).toBeNull();
    expect(echoed.body).toBe(REPLAY_LIMIT_BYTES + 10);
    expect(echoed.headers['x-request-id']).toBe('r-1');
    expect(echoed.headers['proxy-authorization']).toBeUndefined();
    expect(echoed.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('answers 502 JSON when the routed container refuses connections', async () => {
    const { proxy, events } = recordingProxy();
    const closedPort = await proxy.allocatePort();
    const port = await publicPort(proxy);
    await proxy.route('web', port, {
      containerId: 'gone'.padEnd(64, '0'),
      host: '127.0.0.1',
      port: closedPort,
    });
    const res = await get(port, '/');
    expect(res.status).toBe(502);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'MODULE_UNAVAILABLE' } });
    expect(events().some((e) => e['event'] === 'proxy-upstream-failed' && e['retried'] === false)).toBe(true);
  });

  it('marks the routed container in the current state', async () => {
    const { proxy } = recordingProxy();
    const a = await upstream('a');
    const port = await publicPort(proxy);
    await proxy.route('web', port, a.target);
    const m = mod('web');
    const [routed, other] = proxy.annotate([
      container(m, { id: a.target.containerId }),
      container(m, { id: 'b'.padEnd(64, '0') }),
    ]);
    expect([routed?.routed, other?.routed]).toEqual([true, false]);
  });

  it('refuses a public port another process listens on (PROXY_PORT_IN_USE) and closes a port on unroute', async () => {
    const { proxy } = recordingProxy();
    const a = await upstream('a');
    const taken = await proxy.route('web', a.port, a.target).catch((e: unknown) => e);
    expect(isModelportError(taken) && taken.code).toBe('PROXY_PORT_IN_USE');

    const port = await publicPort(proxy);
    await proxy.route('web', port, a.target);
    expect((await get(port, '/')).body).toBe('a');
    await proxy.unroute('web');
    await expect(get(port, '/')).rejects.toThrow(/ECONNREFUSED/);
    expect(proxy.routes()).toEqual([]);
  });
});

describe('ModuleProxy: switching containers', () => {
  it('switches under keep-alive load with no failed request; each client sees a then b, never back', async () => {
    const { proxy } = recordingProxy();
    const a = await upstream('a');
    const b = await upstream('b');
    const port = await publicPort(proxy);
    await proxy.route('web', port, a.target);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    cleanups.push(async () => agent.destroy());
    let stop = false;
    const failures: string[] = [];
    const loops = Array.from({ length: 4 }, async () => {
      const seen: string[] = [];
      while (!stop) {
        try {
          const res = await get(port, '/', agent);
          if (res.status !== 200) failures.push(`HTTP ${res.status}`);
          seen.push(res.body);
        } catch (e) {
          failures.push(String(e));
        }
      }
      return seen;
    });
    await new Promise((r) => setTimeout(r, 150));
    await proxy.route('web', port, b.target);
    await proxy.drain(a.target.containerId, 5_000);
    await new Promise((r) => setTimeout(r, 150));
    stop = true;
    const seen = await Promise.all(loops);
    expect(failures).toEqual([]);
    for (const s of seen) {
      const firstB = s.indexOf('b');
      expect(firstB, 'each client got answers from b').toBeGreaterThan(0);
      expect(
        s.slice(firstB).every((x) => x === 'b'),
        'never back to a after b',
      ).toBe(true);
      expect(s.slice(0, firstB).every((x) => x === 'a')).toBe(true);
    }
    // The sockets to a were kept alive (not one connection per request), then closed by the drain.
    expect(a.requests()).toBeGreaterThan(4);
  });

  it('drains: waits for the request a still has in flight, while new ones go to b', async () => {
    const { proxy, events } = recordingProxy();
    const a = await upstream('a');
    const b = await upstream('b');
    const port = await publicPort(proxy);
    await proxy.route('web', port, a.target);
    const slow = get(port, '/slow');
    await expect.poll(() => a.waitingCount()).toBe(1);
    await proxy.route('web', port, b.target);
    expect((await get(port, '/')).body).toBe('b');

    let drained = false;
    const draining = proxy.drain(a.target.containerId, 30_000).then(() => {
      drained = true;
    });
    // A later event: a whole request served by b after the drain began. A drain that did not wait for
    // a's request would have ended (and reported) within a few ticks, long before this round trip.
    expect((await get(port, '/')).body).toBe('b');
    expect(drained, 'drain waits while a request is in flight').toBe(false);
    expect(events().some((e) => e['event'] === 'proxy-drained')).toBe(false);
    expect(a.waitingCount()).toBe(1);
    a.release();
    expect((await slow).body).toBe('a slow');
    await draining;
    expect(events().find((e) => e['event'] === 'proxy-drained')).toMatchObject({ leftInFlight: 0 });
  });

  it('drains for at most the timeout, then lets the old container go with the request still running', async () => {
    const { proxy, events } = recordingProxy();
    const a = await upstream('a');
    const b = await upstream('b');
    const port = await publicPort(proxy);
    await proxy.route('web', port, a.target);
    const slow = get(port, '/slow');
    await expect.poll(() => a.waitingCount()).toBe(1);
    await proxy.route('web', port, b.target);
    await proxy.drain(a.target.containerId, 50);
    expect(events().find((e) => e['event'] === 'proxy-drained')).toMatchObject({ leftInFlight: 1 });
    // Letting go closes the old container's sockets: the request still running there is cut (502).
    const cut = await slow;
    expect(cut.status).toBe(502);
    expect(JSON.parse(cut.body)).toMatchObject({ error: { code: 'MODULE_UNAVAILABLE' } });
  });

  it('switches back to a container it switched away from before that one was drained', async () => {
    const { proxy } = recordingProxy();
    const a = await upstream('a');
    const b = await upstream('b');
    const port = await publicPort(proxy);
    await proxy.route('web', port, a.target);
    await proxy.route('web', port, b.target);
    await proxy.route('web', port, a.target); // a rollback before the drain
    expect((await get(port, '/')).body).toBe('a');
    await proxy.drain(b.target.containerId, 1_000);
    expect((await get(port, '/')).body).toBe('a');
  });
});

describe('ModuleProxy: a container that closed a kept-alive socket', () => {
  /**
   * Answers the first request on each connection with keep-alive, then resets the connection when a
   * second request arrives on it (what a container does when it closes an idle socket as a request is
   * sent on it).
   */
  async function resettingUpstream() {
    const bodies: string[] = [];
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      let served = 0;
      let buffer = '';
      socket.on('data', (d) => {
        buffer += d.toString();
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(buffer.slice(0, end))?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        const body = buffer.slice(end + 4, end + 4 + length);
        buffer = buffer.slice(end + 4 + length);
        if (served++ > 0) {
          socket.resetAndDestroy();
          return;
        }
        bodies.push(body);
        const answer = `ok ${body}`;
        socket.write(
          `HTTP/1.1 200 OK\r\nContent-Length: ${answer.length}\r\nConnection: keep-alive\r\n\r\n${answer}`,
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
    );
    const port = (server.address() as net.AddressInfo).port;
    return { target: { containerId: 'r'.padEnd(64, '0'), host: '127.0.0.1', port }, bodies };
  }

  it('replays the request once on a new connection, with its body, and the client never sees the reset', async () => {
    const { proxy, events } = recordingProxy();
    const r = await resettingUpstream();
    const port = await publicPort(proxy);
    await proxy.route('web', port, r.target);
    const post = (body: string) =>
      fetch(`http://127.0.0.1:${port}/score`, { method: 'POST', body }).then(async (res) => ({
        status: res.status,
        text: await res.text(),
      }));
    expect(await post('first')).toEqual({ status: 200, text: 'ok first' });
    expect(await post('second')).toEqual({ status: 200, text: 'ok second' });
    expect(r.bodies).toEqual(['first', 'second']);
    expect(events().filter((e) => e['event'] === 'proxy-upstream-failed')).toMatchObject([{ retried: true }]);
  });
});
