import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import tar from 'tar-stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { ContextEntry } from '../../../cloud/package/build-context.js';
import { packContext, writeContextDir } from '../../../cloud/package/context-io.js';
import { tempDir } from '../../support/tmp.js';

let work: ReturnType<typeof tempDir> | undefined;
afterEach(() => work?.cleanup());

function entries(dir: string): ContextEntry[] {
  const big = join(dir, 'big.bin');
  writeFileSync(big, Buffer.alloc(300_000, 7));
  const longName = `node_modules/${'deep/'.repeat(30)}file.js`;
  return [
    { path: 'Dockerfile', data: Buffer.from('FROM x\n'), size: 7, mode: 0o644 },
    { path: 'azureml-models/m/1/weights ü "q".bin', source: big, size: 300_000, mode: 0o644 },
    { path: longName, data: Buffer.from('x'), size: 1, mode: 0o755 },
  ];
}

describe('packContext', () => {
  it('streams every entry with its mode, a fixed time and root ownership, long and odd names included', async () => {
    work = tempDir('ctxio');
    const list = entries(work.path);
    const seen: { name: string; mode: number; size: number; uid: number; mtime: number; body: Buffer }[] = [];
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      void buffer(stream).then((body) => {
        seen.push({
          name: header.name,
          mode: header.mode ?? 0,
          size: header.size ?? 0,
          uid: header.uid ?? -1,
          mtime: header.mtime?.getTime() ?? 0,
          body,
        });
        next();
      });
    });
    const done = new Promise<void>((resolve) => extract.on('finish', () => resolve()));
    packContext(list).pipe(extract);
    await done;
    expect(seen.map((s) => s.name)).toEqual(list.map((e) => e.path));
    expect(seen.map((s) => s.mode)).toEqual([0o644, 0o644, 0o755]);
    expect(new Set(seen.map((s) => s.uid))).toEqual(new Set([0]));
    expect(new Set(seen.map((s) => s.mtime)).size).toBe(1);
    expect(seen[1]?.body.equals(Buffer.alloc(300_000, 7))).toBe(true);
  });

  it('fails the stream when a source file vanished', async () => {
    work = tempDir('ctxio');
    const stream = packContext([{ path: 'gone', source: join(work.path, 'missing'), size: 3, mode: 0o644 }]);
    await expect(buffer(stream)).rejects.toThrow(/ENOENT/);
  });
});

describe('writeContextDir', () => {
  it('writes the files with their modes', async () => {
    work = tempDir('ctxio');
    const out = join(work.path, 'ctx');
    const list = entries(work.path);
    await writeContextDir(list, out);
    expect(readFileSync(join(out, 'Dockerfile'), 'utf8')).toBe('FROM x\n');
    expect(statSync(join(out, 'azureml-models/m/1/weights ü "q".bin')).size).toBe(300_000);
    expect(statSync(join(out, list[2]?.path ?? '')).mode & 0o777).toBe(0o755);
  });

  it('refuses a folder that already holds something', async () => {
    work = tempDir('ctxio');
    mkdirSync(join(work.path, 'busy'));
    writeFileSync(join(work.path, 'busy', 'keep.txt'), 'mine');
    await expect(writeContextDir(entries(work.path), join(work.path, 'busy'))).rejects.toThrow(
      expect.objectContaining({ code: 'OUTPUT_DIR_NOT_EMPTY', exitCode: 2 }),
    );
    expect(readFileSync(join(work.path, 'busy', 'keep.txt'), 'utf8')).toBe('mine');
  });
});
