import { X509Certificate } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateTls } from '../../../agent/hub/tls-material.js';
import { tempDir } from '../../support/tmp.js';

const dirs: Array<{ cleanup(): void }> = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

describe('hub certificates', () => {
  it('makes a CA and a server certificate once, keeps them, and remakes the server one for a new gateway name', async () => {
    const home = tempDir('tls');
    dirs.push(home);
    const dir = join(home.path, 'hub');
    const first = await loadOrCreateTls(dir, 'localhost');
    expect(first.renewed).toBe(true);
    const cert = new X509Certificate(first.certPem);
    const ca = new X509Certificate(first.caPem);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.subjectAltName).toContain('DNS:localhost');
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(ca.ca).toBe(true);
    expect(statSync(join(dir, 'ca-key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'server-key.pem')).mode & 0o777).toBe(0o600);

    const again = await loadOrCreateTls(dir, 'localhost');
    expect(again).toMatchObject({ renewed: false, certPem: first.certPem, caPem: first.caPem });

    const renamed = await loadOrCreateTls(dir, 'edge-gw.local');
    expect(renamed.renewed).toBe(true);
    expect(renamed.caPem).toBe(first.caPem);
    expect(new X509Certificate(renamed.certPem).subjectAltName).toContain('DNS:edge-gw.local');
    expect(new X509Certificate(renamed.certPem).checkIssued(ca)).toBe(true);
  });

  it('fails with HUB_TLS_MATERIAL when the folder cannot be written', async () => {
    const home = tempDir('tls');
    dirs.push(home);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(home.path, 'hub'), 'a file where the folder should be');
    await expect(loadOrCreateTls(join(home.path, 'hub'), 'localhost')).rejects.toMatchObject({
      code: 'HUB_TLS_MATERIAL',
      message: expect.stringMatching(/cannot prepare the hub's certificates/),
    });
  });
});
