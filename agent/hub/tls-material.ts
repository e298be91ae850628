/**
 * The hub's TLS: its own CA and a server certificate it signs, made with `selfsigned` on first start
 * and kept in `<home>/hub/`. Modules trust the CA through `EdgeModuleCACertificateFile`. The server
 * certificate is made again when its names change (a new gateway host name), when it is not signed
 * by the current CA, or when it expires within 30 days; the CA is kept for ten years.
 */
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { messageOf } from '../../common/errors.js';
import { HubError } from './errors.js';

export interface HubTls {
  /** The CA certificate (PEM) modules trust. */
  caPem: string;
  caPath: string;
  certPem: string;
  keyPem: string;
  /** True when this call made a new server certificate (or CA). */
  renewed: boolean;
}

const DAY_MS = 24 * 3600 * 1000;

/** Names the server certificate carries: localhost, 127.0.0.1, ::1 and the gateway host name. */
export function serverNames(gatewayHostName: string): string[] {
  return [...new Set(['localhost', '127.0.0.1', '::1', gatewayHostName.toLowerCase()])];
}

export async function loadOrCreateTls(
  dir: string,
  gatewayHostName: string,
  now = new Date(),
): Promise<HubTls> {
  const files = {
    ca: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca-key.pem'),
    cert: join(dir, 'server.pem'),
    key: join(dir, 'server-key.pem'),
  };
  const names = serverNames(gatewayHostName);
  try {
    mkdirSync(dir, { recursive: true });
    let renewed = false;
    let ca = readPair(files.ca, files.caKey);
    if (!ca || Date.parse(new X509Certificate(ca.cert).validTo) < now.getTime() + 30 * DAY_MS) {
      ca = await createCa(now);
      // Written in place (same inode): a CA file bind-mounted into running modules shows the new content.
      writePair(files.ca, files.caKey, ca);
      renewed = true;
    }
    let server = readPair(files.cert, files.key);
    if (renewed || !server || !serverIsCurrent(server.cert, ca.cert, names, now)) {
      server = await createServerCert(ca, names, now);
      writePair(files.cert, files.key, server);
      renewed = true;
    }
    return { caPem: ca.cert, caPath: files.ca, certPem: server.cert, keyPem: server.key, renewed };
  } catch (cause) {
    throw new HubError(
      'HUB_TLS_MATERIAL',
      `cannot prepare the hub's certificates in ${dir}: ${messageOf(cause)}`,
      {
        hint: 'check that the agent home is writable; delete the hub folder to make new certificates',
        cause,
      },
    );
  }
}

interface Pair {
  cert: string;
  key: string;
}

function readPair(certPath: string, keyPath: string): Pair | undefined {
  if (!existsSync(certPath) || !existsSync(keyPath)) return undefined;
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
}

function writePair(certPath: string, keyPath: string, pair: Pair): void {
  writeFileSync(keyPath, pair.key, { mode: 0o600 });
  chmodSync(keyPath, 0o600);
  writeFileSync(certPath, pair.cert, { mode: 0o644 });
}

function serverIsCurrent(certPem: string, caPem: string, names: readonly string[], now: Date): boolean {
  const cert = new X509Certificate(certPem);
  if (!cert.checkIssued(new X509Certificate(caPem))) return false;
  if (Date.parse(cert.validTo) < now.getTime() + 30 * DAY_MS) return false;
  const have = new Set(
    (cert.subjectAltName ?? '')
      .split(',')
      .map((s) => canonicalName(s.trim().replace(/^(DNS|IP Address):/, ''))),
  );
  return names.every((n) => have.has(canonicalName(n)));
}

/** Lower case; IPv6 addresses fully expanded, as node prints them in subjectAltName (`0:0:0:0:0:0:0:1`). */
function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  if (isIP(lower) !== 6) return lower;
  const [head = '', tail] = lower.split('::');
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => g.replace(/^0+(?=.)/, '')).join(':');
}

async function createCa(now: Date): Promise<Pair> {
  const ca = await generate([{ name: 'commonName', value: 'modelport-agent edge hub CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - DAY_MS),
    notAfterDate: new Date(now.getTime() + 3650 * DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: ca.cert, key: ca.private };
}

async function createServerCert(ca: Pair, names: readonly string[], now: Date): Promise<Pair> {
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - DAY_MS),
    notAfterDate: new Date(now.getTime() + 365 * DAY_MS),
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: names.map((n) => (isIP(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n })),
      },
    ],
  });
  return { cert: server.cert, key: server.private };
}
