/**
 * One TLS port for both protocols, as IoT Hub has one host name for both: after the handshake the
 * first bytes tell MQTT (a CONNECT packet starts with 0x10) from HTTP (an ASCII method), and the
 * decrypted socket is handed to the MQTT broker or to the HTTP server. So a device connection
 * string and the service connection string share `HostName=localhost:PORT`, and product code that
 * derives one from the other works as it would against IoT Hub.
 */
import type net from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import type { TlsMaterial } from './tls-material.js';

export interface ProtocolHandlers {
  mqtt(socket: TLSSocket): void;
  http(socket: TLSSocket): void;
}

const MQTT_CONNECT_FIRST_BYTE = 0x10;

export class TlsListener {
  private readonly servers: tls.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  private boundPort = 0;

  constructor(
    private readonly material: TlsMaterial,
    private readonly handlers: ProtocolHandlers,
  ) {}

  get port(): number {
    return this.boundPort;
  }

  get listening(): boolean {
    return this.servers.length > 0;
  }

  /**
   * Listens on 127.0.0.1 (port 0 = any free port), then on ::1 with the same port where the machine
   * has IPv6 loopback, so `localhost` works whichever address it resolves to.
   */
  async listen(port: number): Promise<number> {
    const primary = this.createServer();
    await listenOn(primary, port, '127.0.0.1');
    this.servers.push(primary);
    this.boundPort = (primary.address() as net.AddressInfo).port;
    const secondary = this.createServer();
    try {
      await listenOn(secondary, this.boundPort, '::1');
      this.servers.push(secondary);
    } catch {
      // No IPv6 loopback here (or the port is taken there): clients reach us through 127.0.0.1.
    }
    return this.boundPort;
  }

  /** Stops listening and destroys every open connection (clients see the connection drop). */
  async close(): Promise<void> {
    const servers = this.servers.splice(0);
    const closed = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    this.destroyConnections();
    await Promise.all(closed);
  }

  destroyConnections(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private createServer(): tls.Server {
    const server = tls.createServer({ key: this.material.key, cert: this.material.cert });
    server.on('connection', (raw: net.Socket) => {
      this.sockets.add(raw);
      raw.once('close', () => this.sockets.delete(raw));
    });
    server.on('secureConnection', (socket) => this.dispatch(socket));
    // A client that fails the handshake (e.g. one that does not trust our CA) is its own problem.
    server.on('tlsClientError', (_err, socket) => socket.destroy());
    return server;
  }

  private dispatch(socket: TLSSocket): void {
    socket.on('error', () => {
      // Resets from clients that vanish are normal in fault tests; the owner of the socket cleans up.
    });
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.unshift(chunk);
      if (chunk[0] === MQTT_CONNECT_FIRST_BYTE) this.handlers.mqtt(socket);
      else this.handlers.http(socket);
      socket.resume();
    });
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
