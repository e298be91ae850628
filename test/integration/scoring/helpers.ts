import { connect } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer, type ScoringServerOptions } from '../../../modules/scoring/server.js';

export const SCRIPTS = join(import.meta.dirname, 'scripts');

/** A server whose /score is an entry script from ./scripts, loaded, not listening. */
export async function scriptServer(
  script: string,
  options: Partial<ScoringServerOptions> & { modelDir?: string; workers?: number } = {},
): Promise<FastifyInstance> {
  const { modelDir, workers, ...rest } = options;
  const app = buildServer({
    models: [],
    logger: false,
    ...rest,
    entryScript: {
      file: join(SCRIPTS, script),
      ...(modelDir ? { modelDir } : {}),
      ...(workers ? { workers } : {}),
    },
  });
  await app.scoringLoaded;
  return app;
}

/** Listens on a free loopback port; resolves to the base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
}

/** Captures a pino logger's JSON lines. */
export function captureLogs(): { lines: () => Record<string, unknown>[]; stream: NodeJS.WritableStream } {
  const chunks: string[] = [];
  const stream = {
    write(chunk: string) {
      chunks.push(chunk);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.trim().length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Polls `check` until it returns true (no timing assertion: the test timeout bounds it). */
export async function eventually(check: () => Promise<boolean> | boolean, everyMs = 25): Promise<void> {
  for (;;) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface RawReply {
  /** HTTP status, or undefined when the server closed the connection without answering. */
  status: number | undefined;
  head: string;
  body: string;
}

/**
 * Sends bytes over a plain TCP connection and reads whatever comes back until the server closes it
 * (or `waitMs` passes). For requests no HTTP client would send: bad framing, stalled bodies.
 */
export function rawRequest(
  port: number,
  parts: (Buffer | string | { pauseMs: number })[],
  waitMs = 15_000,
): Promise<RawReply> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      const split = text.indexOf('\r\n\r\n');
      resolve({
        status: match ? Number(match[1]) : undefined,
        head: split === -1 ? text : text.slice(0, split),
        body: split === -1 ? '' : text.slice(split + 4),
      });
    };
    const timer = setTimeout(finish, waitMs);
    socket.on('data', (d) => chunks.push(d));
    socket.on('close', finish);
    socket.on('error', () => undefined); // a reset while writing is an answer too: read what came
    void (async () => {
      for (const part of parts) {
        if (done || socket.destroyed) return;
        if (typeof part === 'object' && 'pauseMs' in part)
          await new Promise((r) => setTimeout(r, part.pauseMs));
        else if (!socket.write(part)) await new Promise((r) => socket.once('drain', r));
      }
    })();
  });
}

/** A request's bytes: request line, headers (Host and Connection: close added), body. */
export function httpRequest(
  method: string,
  path: string,
  headers: Record<string, string | number>,
  body?: Buffer | string,
): Buffer {
  const bytes = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
  const all: Record<string, string | number> = { host: 'localhost', connection: 'close', ...headers };
  if (bytes && all['content-length'] === undefined && all['transfer-encoding'] === undefined)
    all['content-length'] = bytes.length;
  const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(all)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n`;
  return bytes ? Buffer.concat([Buffer.from(head, 'latin1'), bytes]) : Buffer.from(head, 'latin1');
}
