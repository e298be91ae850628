/**
 * The hub's TLS listener: on 127.0.0.1 and, where the machine has it, ::1 on the same port (so
 * `localhost` works whichever address a module's resolver prefers), or on one given address.
 */
import type net from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { messageOf } from '../../common/errors.js';
import { HubError } from './errors.js';

export class TlsServer {
  private readonly servers: tls.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  private boundPort = 0;

  constructor(
    private material: { certPem: string; keyPem: string },
    private readonly onConnection: (socket: TLSSocket) => void,
  ) {}

  /** A renewed certificate: new connections get it, open ones keep theirs. */
  useCertificate(material: { certPem: string; keyPem: string }): void {
    this.material = material;
    for (const server of this.servers)
      server.setSecureContext({ key: material.keyPem, cert: material.certPem });
  }

  get port(): number {
    return this.boundPort;
  }

  /** Listens on `host` (default: 127.0.0.1, plus ::1 when available); port 0 = any free port. */
  async listen(port: number, host?: string): Promise<number> {
    const primary = this.create();
    try {
      await listenOn(primary, port, host ?? '127.0.0.1');
    } catch (cause) {
      throw new HubError(
        'HUB_LISTEN_FAILED',
        `cannot listen on ${host ?? '127.0.0.1'}:${port}: ${messageOf(cause)}`,
        {
          hint: 'choose another hub port or stop what uses it',
          cause,
        },
      );
    }
    this.servers.push(primary);
    this.boundPort = (primary.address() as net.AddressInfo).port;
    if (host === undefined) {
      const secondary = this.create();
      try {
        await listenOn(secondary, this.boundPort, '::1');
        this.servers.push(secondary);
      } catch {
        // No IPv6 loopback here (or the port is taken there): modules reach us through 127.0.0.1.
      }
    }
    return this.boundPort;
  }

  async close(): Promise<void> {
    const closed = this.servers
      .splice(0)
      .map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await Promise.all(closed);
  }

  private create(): tls.Server {
    const server = tls.createServer({ key: this.material.keyPem, cert: this.material.certPem });
    server.on('connection', (raw: net.Socket) => {
      this.sockets.add(raw);
      raw.once('close', () => this.sockets.delete(raw));
    });
    server.on('secureConnection', (socket) => {
      socket.on('error', () => {
        // Resets from modules that vanish are normal; the broker cleans up the client.
      });
      this.onConnection(socket);
    });
    // A client that fails the handshake (it does not trust our CA) gets nothing more.
    server.on('tlsClientError', (_err, socket) => socket.destroy());
    return server;
  }
}

function listenOn(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
