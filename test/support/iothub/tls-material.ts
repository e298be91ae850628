/** A throwaway CA and a server certificate it signs, for `localhost`, 127.0.0.1 and ::1. */
import { generate } from 'selfsigned';

export interface TlsMaterial {
  /** The CA certificate (PEM) clients must trust. */
  readonly ca: string;
  /** The server certificate (PEM), signed by `ca`. */
  readonly cert: string;
  /** The server's private key (PEM). */
  readonly key: string;
}

export async function createTlsMaterial(): Promise<TlsMaterial> {
  // EC keys: generated in milliseconds, where RSA 2048 would take a noticeable share of a test run.
  const ca = await generate([{ name: 'commonName', value: 'modelport IoT Hub emulator test CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { ca: ca.cert, cert: server.cert, key: server.private };
}
