/**
 * The hub's server certificate is renewed while the agent runs (a gateway runs for months; the
 * certificate lasts a year): on the check after it comes within 30 days of expiry, new connections
 * get a new certificate from the same CA and open connections carry on. A check that cannot write the
 * new files is logged and the current certificate stays in use until a later check succeeds.
 */
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { type Hub, startHub } from '../../../agent/hub/hub.js';
import { openOutbox } from '../../../agent/upstream/open-outbox.js';
import { createLogger, type Logger, silentLogger } from '../../../common/logger.js';
import { tempDir } from '../../support/tmp.js';

const DAY_MS = 24 * 3600 * 1000;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Log lines as parsed JSON, for the renewal events. */
function recordingLogger(): { log: Logger; events: () => Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return {
    log: createLogger({ name: 'test', level: 'info', destination: sink }),
    events: () => lines.map((l) => JSON.parse(l)),
  };
}

/** Opens a TLS connection to the hub and returns it with the certificate the hub presented. */
async function connect(hub: Hub): Promise<{ socket: tls.TLSSocket; cert: X509Certificate }> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port: hub.port,
    servername: 'localhost',
    ca: hub.caPem,
    // The test clock runs ahead of the real one, so a renewed certificate is "not yet valid" here;
    // its issuer is checked below instead.
    rejectUnauthorized: false,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  cleanups.push(() => socket.destroy());
  return { socket, cert: new X509Certificate(socket.getPeerX509Certificate()?.raw ?? Buffer.alloc(0)) };
}

/** A hub in a fresh home whose clock runs `offset.ms` ahead of the real one, checking every 50 ms. */
async function startClockedHub() {
  const tmp = tempDir('cert-renewal');
  cleanups.push(tmp.cleanup);
  const home = tmp.path;
  const offset = { ms: 0 };
  const recorder = recordingLogger();
  const outbox = await openOutbox({
    path: join(home, 'outbox.db'),
    capBytes: 8 * 1024 ** 2,
    log: silentLogger(),
  });
  const hub = await startHub({
    home,
    deviceId: 'd1',
    iotHubHostName: 'hub.test',
    outbox,
    log: recorder.log,
    now: () => Date.now() + offset.ms,
    certificateCheckMs: 50,
  });
  cleanups.push(async () => {
    await hub.close();
    outbox.close();
  });
  return { hub, events: recorder.events, home, offset };
}

describe('hub server certificate renewal', () => {
  it('gives new connections a renewed certificate near expiry; open ones carry on', async () => {
    const { hub, events, home, offset } = await startClockedHub();
    const first = await connect(hub);
    const ca = new X509Certificate(hub.caPem);
    expect(first.cert.checkIssued(ca)).toBe(true);

    // Checks before the 30-day window change nothing.
    offset.ms = 300 * DAY_MS;
    await new Promise((r) => setTimeout(r, 300));
    expect((await connect(hub)).cert.fingerprint256).toBe(first.cert.fingerprint256);

    offset.ms = 340 * DAY_MS;
    await expect
      .poll(async () => (await connect(hub)).cert.fingerprint256, { timeout: 20_000 })
      .not.toBe(first.cert.fingerprint256);
    const renewed = (await connect(hub)).cert;
    expect(renewed.checkIssued(ca)).toBe(true);
    expect(Date.parse(renewed.validTo) - Date.parse(first.cert.validTo)).toBeGreaterThan(300 * DAY_MS);
    expect(renewed.subjectAltName).toContain('DNS:localhost');
    // Kept on disk for the next start, and announced.
    expect(new X509Certificate(readFileSync(join(home, 'hub', 'server.pem'))).fingerprint256).toBe(
      renewed.fingerprint256,
    );
    expect(events().filter((e) => e['event'] === 'hub-certificate-renewed')).toEqual([
      expect.objectContaining({ notAfter: renewed.validTo }),
    ]);
    // The connection opened before the renewal is still up and still usable.
    expect(first.socket.destroyed).toBe(false);
    expect(first.socket.writable).toBe(true);
  });

  it('logs a check that cannot write the new files and keeps the current certificate until one can', async () => {
    const { hub, events, home, offset } = await startClockedHub();
    const first = await connect(hub);
    // A folder where the key file should be: the check can neither read nor replace it.
    const keyFile = join(home, 'hub', 'server-key.pem');
    rmSync(keyFile);
    mkdirSync(keyFile);

    offset.ms = 340 * DAY_MS;
    await expect
      .poll(() => events().filter((e) => e['event'] === 'hub-certificate-renew-failed').length, {
        timeout: 20_000,
      })
      .toBeGreaterThan(0);
    const failed = events().find((e) => e['event'] === 'hub-certificate-renew-failed');
    expect(failed?.['msg']).toMatch(/could not renew the hub's server certificate: cannot prepare/);
    expect((await connect(hub)).cert.fingerprint256).toBe(first.cert.fingerprint256);

    // Fixed: the next check makes a new pair.
    rmSync(keyFile, { recursive: true });
    await expect
      .poll(async () => (await connect(hub)).cert.fingerprint256, { timeout: 20_000 })
      .not.toBe(first.cert.fingerprint256);
  });
});
