/**
 * A loopback TCP forwarder in front of the test registry, which the test can take down and bring back:
 * "the registry is down" without touching the registry other tests share.
 */
import net from 'node:net';

export interface Forwarder {
  readonly port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function tcpForwarder(port: number, target: { host: string; port: number }): Forwarder {
  let server: net.Server | undefined;
  const sockets = new Set<net.Socket>();
  return {
    port,
    start: () =>
      new Promise((resolve, reject) => {
        const s = net.createServer((client) => {
          const upstream = net.connect(target.port, target.host);
          for (const socket of [client, upstream]) {
            sockets.add(socket);
            socket.on('close', () => sockets.delete(socket));
            // A reset on either side ends both; the client (docker) retries or reports it.
            socket.on('error', () => {
              client.destroy();
              upstream.destroy();
            });
          }
          client.pipe(upstream).pipe(client);
        });
        s.once('error', reject);
        s.listen(port, '127.0.0.1', () => {
          server = s;
          resolve();
        });
      }),
    stop: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        if (!server) return resolve();
        server.close(() => resolve());
        server = undefined;
      }),
  };
}
