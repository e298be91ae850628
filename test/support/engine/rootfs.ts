import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

interface Owner {
  mode: number;
  uid: number;
  gid: number;
}

type RootfsEntry =
  | ({ type: 'dir' } & Owner)
  | ({ type: 'file'; size: number } & Owner & ({ hostPath: string } | { content: Buffer }))
  | { type: 'symlink'; target: string };

/** A fixed mtime keeps the tar, and so the input hash, independent of when files were copied. */
const MTIME = new Date('2000-01-01T00:00:00Z');
const ROOT: Owner = { mode: 0o755, uid: 0, gid: 0 };
const MAX_LINK_HOPS = 40;

/**
 * An image root file system described in memory, then written as one tar (a single image layer).
 * Paths are resolved through the symlinks already added, as the kernel would inside the container,
 * so adding `bin/sh` after `bin -> usr/bin` puts the entry at `usr/bin/sh`.
 */
export class RootfsBuilder {
  private readonly entries = new Map<string, RootfsEntry>();

  dir(imagePath: string, owner: Partial<Owner> = {}): this {
    const key = this.resolveParents(imagePath);
    const existing = this.entries.get(key);
    if (existing?.type === 'symlink') return this;
    this.entries.set(key, { type: 'dir', ...ROOT, ...owner });
    return this;
  }

  file(imagePath: string, content: string | Buffer, owner: Partial<Owner> = {}): this {
    const buf = typeof content === 'string' ? Buffer.from(content) : content;
    this.entries.set(this.resolveParents(imagePath), {
      type: 'file',
      size: buf.length,
      content: buf,
      ...ROOT,
      mode: 0o644,
      ...owner,
    });
    return this;
  }

  symlink(imagePath: string, target: string): this {
    this.entries.set(this.resolveParents(imagePath), { type: 'symlink', target });
    return this;
  }

  /** True if something already sits at this path (after resolving parent symlinks). */
  has(imagePath: string): boolean {
    return this.entries.has(this.resolveParents(imagePath));
  }

  /** Copies one host file (following a symlink at the leaf) to `imagePath`, keeping its permission bits. */
  async copyHostFile(hostPath: string, imagePath: string, owner: Partial<Owner> = {}): Promise<this> {
    const real = await resolveHostLinks(hostPath);
    const st = await lstat(real);
    this.entries.set(this.resolveParents(imagePath), {
      type: 'file',
      size: st.size,
      hostPath: real,
      ...ROOT,
      mode: st.mode & 0o7777,
      ...owner,
    });
    return this;
  }

  /**
   * Adds a host file at the same path, replicating every symlink met on the way (e.g. Debian's
   * `/lib -> usr/lib` and `/lib64/ld-linux-x86-64.so.2 -> ...`), so the dynamic loader finds libraries
   * by the exact paths `ldd` printed.
   */
  async mirrorHostPath(hostPath: string): Promise<this> {
    let pending = path.posix.resolve(hostPath);
    for (let hops = 0; hops < MAX_LINK_HOPS; hops++) {
      const parts = pending.split('/').filter((part) => part !== '');
      let current = '/';
      let followed: string | undefined;
      for (const [index, part] of parts.entries()) {
        const next = path.posix.join(current, part);
        const st = await lstat(next);
        const isLeaf = index === parts.length - 1;
        if (st.isSymbolicLink()) {
          const target = await readlink(next);
          this.symlink(next, target);
          followed = path.posix.join(path.posix.resolve(current, target), ...parts.slice(index + 1));
          break;
        }
        if (st.isDirectory()) {
          if (!this.has(next)) this.dir(next, { mode: st.mode & 0o7777 });
        } else if (isLeaf) {
          this.entries.set(this.resolveParents(next), {
            type: 'file',
            size: st.size,
            hostPath: next,
            ...ROOT,
            mode: st.mode & 0o7777,
          });
        }
        current = next;
      }
      if (followed === undefined) return this;
      pending = followed;
    }
    throw new Error(`too many symlinks while copying ${hostPath}`);
  }

  /** Adds a whole host folder (e.g. unpacked .debs) under `imageDir`, skipping paths `skip` rejects. */
  async addHostTree(
    hostDir: string,
    imageDir = '/',
    skip: (rel: string) => boolean = () => false,
  ): Promise<this> {
    const walk = async (rel: string): Promise<void> => {
      for (const name of (await readdir(path.join(hostDir, rel))).sort()) {
        const childRel = path.posix.join(rel, name);
        if (skip(childRel)) continue;
        const hostPath = path.join(hostDir, childRel);
        const imagePath = path.posix.join(imageDir, childRel);
        const st = await lstat(hostPath);
        if (st.isSymbolicLink()) {
          this.symlink(imagePath, await readlink(hostPath));
        } else if (st.isDirectory()) {
          if (!this.has(imagePath)) this.dir(imagePath, { mode: st.mode & 0o7777 });
          await walk(childRel);
        } else if (st.isFile()) {
          this.entries.set(this.resolveParents(imagePath), {
            type: 'file',
            size: st.size,
            hostPath,
            ...ROOT,
            mode: st.mode & 0o7777,
          });
        }
      }
    };
    await walk('');
    return this;
  }

  /**
   * sha256 over every entry's path, type, ownership and content: equal hashes mean an equal image,
   * which is how an existing base image is recognised and reused.
   */
  async inputHash(): Promise<string> {
    const hash = createHash('sha256');
    for (const [key, entry] of this.sorted()) {
      hash.update(`${key}\0${entry.type}\0`);
      if (entry.type === 'symlink') {
        hash.update(`${entry.target}\n`);
        continue;
      }
      hash.update(`${entry.mode.toString(8)}:${entry.uid}:${entry.gid}\0`);
      if (entry.type === 'file') {
        hash.update('content' in entry ? sha256(entry.content) : await sha256File(entry.hostPath));
      }
      hash.update('\n');
    }
    return hash.digest('hex');
  }

  /** Writes the root file system as a tar file, parents before children. */
  async writeTar(outFile: string): Promise<void> {
    const pack = tar.pack();
    const written = pipeline(pack, createWriteStream(outFile));
    for (const [key, entry] of this.sorted()) {
      const name = key;
      if (entry.type === 'symlink') {
        await addBuffer(pack, { name, type: 'symlink', linkname: entry.target, mtime: MTIME, mode: 0o777 });
      } else if (entry.type === 'dir') {
        await addBuffer(pack, {
          name,
          type: 'directory',
          mode: entry.mode,
          uid: entry.uid,
          gid: entry.gid,
          mtime: MTIME,
        });
      } else {
        const header = {
          name,
          type: 'file' as const,
          size: entry.size,
          mode: entry.mode,
          uid: entry.uid,
          gid: entry.gid,
          mtime: MTIME,
        };
        if ('content' in entry) await addBuffer(pack, header, entry.content);
        else await pipeline(createReadStream(entry.hostPath), pack.entry(header));
      }
    }
    pack.finalize();
    await written;
  }

  /** Entries sorted by path components, so a folder always precedes what it holds. */
  private sorted(): Array<[string, RootfsEntry]> {
    return [...this.entries.entries()].sort(([a], [b]) => compareComponents(a, b));
  }

  /**
   * The entry key for an image path: parent folders resolved through symlinks in this tree, and
   * created as plain folders when absent. The leaf itself is not followed.
   */
  private resolveParents(imagePath: string): string {
    let parts = path.posix
      .resolve('/', imagePath)
      .split('/')
      .filter((part) => part !== '');
    for (let hops = 0; hops < MAX_LINK_HOPS; hops++) {
      let current = '';
      let restarted = false;
      for (const [index, part] of parts.slice(0, -1).entries()) {
        const key = current === '' ? part : `${current}/${part}`;
        const entry = this.entries.get(key);
        if (entry?.type === 'symlink') {
          const base = entry.target.startsWith('/') ? '/' : `/${current}`;
          const target = path.posix.resolve(base, entry.target);
          parts = [...target.split('/').filter((p) => p !== ''), ...parts.slice(index + 1)];
          restarted = true;
          break;
        }
        if (entry === undefined) this.entries.set(key, { type: 'dir', ...ROOT });
        current = key;
      }
      if (!restarted) return parts.join('/');
    }
    throw new Error(`too many symlinks resolving ${imagePath} in the image root`);
  }
}

function compareComponents(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i] as string;
    const y = pb[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

type TarHeader = Parameters<tar.Pack['entry']>[0];

function addBuffer(pack: tar.Pack, header: TarHeader, content?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry(header, content ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
  });
}

function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Follows symlinks at the leaf of a host path (parents are resolved by the OS when reading). */
async function resolveHostLinks(hostPath: string): Promise<string> {
  let current = path.resolve(hostPath);
  for (let hops = 0; hops < MAX_LINK_HOPS; hops++) {
    const st = await lstat(current);
    if (!st.isSymbolicLink()) return current;
    current = path.resolve(path.dirname(current), await readlink(current));
  }
  throw new Error(`too many symlinks at ${hostPath}`);
}
