import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RootfsBuilder } from '../../support/engine/rootfs.js';

interface TarEntry {
  name: string;
  type: string;
  mode: number;
  linkname: string | null;
  content: string;
}

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'mp-rootfs-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function readTar(file: string): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  const extract = tar.extract();
  const feeding = pipeline(createReadStream(file), extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    const { name, type, mode, linkname } = entry.header;
    entries.push({ name, type, mode, linkname, content: Buffer.concat(chunks).toString('utf8') });
  }
  await feeding;
  return entries;
}

describe('RootfsBuilder', () => {
  it('places paths through symlinks already in the image, parents before children', async () => {
    const rootfs = new RootfsBuilder()
      .symlink('/bin', 'usr/bin')
      .file('/bin/tool', '#!/bin/sh\n', { mode: 0o755 })
      .symlink('/bin/sh', '/bin/busybox')
      .dir('/tmp', { mode: 0o1777 });
    const out = path.join(scratch, 'a.tar');
    await rootfs.writeTar(out);
    const entries = await readTar(out);
    const names = entries.map((e) => e.name);
    expect(names).toEqual(['bin', 'tmp', 'usr', 'usr/bin', 'usr/bin/sh', 'usr/bin/tool']);
    expect(entries.find((e) => e.name === 'bin')).toMatchObject({ type: 'symlink', linkname: 'usr/bin' });
    expect(entries.find((e) => e.name === 'usr/bin/tool')).toMatchObject({
      mode: 0o755,
      content: '#!/bin/sh\n',
    });
    expect(entries.find((e) => e.name === 'tmp')).toMatchObject({ type: 'directory', mode: 0o1777 });
  });

  it('mirrors a host file with the symlinks on its way', async () => {
    const host = path.join(scratch, 'host');
    await mkdir(path.join(host, 'usr', 'lib'), { recursive: true });
    await writeFile(path.join(host, 'usr', 'lib', 'libreal.so.1.2'), 'ELF');
    await symlink('libreal.so.1.2', path.join(host, 'usr', 'lib', 'libreal.so.1'));
    await symlink('usr/lib', path.join(host, 'lib'));
    const rootfs = await new RootfsBuilder().mirrorHostPath(path.join(host, 'lib', 'libreal.so.1'));
    const out = path.join(scratch, 'b.tar');
    await rootfs.writeTar(out);
    const byName = new Map((await readTar(out)).map((e) => [e.name, e]));
    const base = host.slice(1);
    expect(byName.get(`${base}/lib`)).toMatchObject({ type: 'symlink', linkname: 'usr/lib' });
    expect(byName.get(`${base}/usr/lib/libreal.so.1`)).toMatchObject({
      type: 'symlink',
      linkname: 'libreal.so.1.2',
    });
    expect(byName.get(`${base}/usr/lib/libreal.so.1.2`)).toMatchObject({ type: 'file', content: 'ELF' });
    expect(byName.has(`${base}/lib/libreal.so.1`)).toBe(false);
  });

  it('hashes equal inputs equally and changes with content, mode or links', async () => {
    const make = (content: string, mode = 0o644, link = '/bin/busybox') =>
      new RootfsBuilder().file('/etc/passwd', content, { mode }).symlink('/bin/sh', link).inputHash();
    const first = await make('root:x:0:0::/root:/bin/sh\n');
    expect(await make('root:x:0:0::/root:/bin/sh\n')).toBe(first);
    expect(await make('root:x:0:0::/root:/bin/ash\n')).not.toBe(first);
    expect(await make('root:x:0:0::/root:/bin/sh\n', 0o600)).not.toBe(first);
    expect(await make('root:x:0:0::/root:/bin/sh\n', 0o644, '/bin/dash')).not.toBe(first);
  });
});
