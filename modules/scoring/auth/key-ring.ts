import { createHash, timingSafeEqual } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { messageOf } from '../../../common/errors.js';
import type { Logger } from '../../../common/logger.js';
import { parseKeyFile } from './key-file.js';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * The accepted keys, as SHA-256 digests. A presented key is compared with every key, always all of
 * them, with `timingSafeEqual` over fixed-length digests, so neither the position of a mismatch nor
 * which key matched shows in the time taken. Keys from a file are re-read when the file changes;
 * the folder is watched rather than the file, so editors that save by renaming a new file over the
 * old one are seen too. A read that fails keeps the keys from before.
 */
export class KeyRing {
  private fileKeys: Buffer[] = [];
  private readonly staticKeys: Buffer[];
  private watcher: FSWatcher | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;
  /** Settles after the first read of the key file. */
  readonly ready: Promise<void>;

  constructor(
    keys: readonly string[],
    private readonly keyFile: string | undefined,
    private readonly logger: Logger,
  ) {
    this.staticKeys = keys.filter((k) => k.length > 0).map(digest);
    this.ready = keyFile ? this.reload() : Promise.resolve();
    if (keyFile) this.watch(keyFile);
  }

  get size(): number {
    return this.staticKeys.length + this.fileKeys.length;
  }

  matches(presented: string): boolean {
    const given = digest(presented);
    let ok = false;
    for (const key of this.staticKeys) ok = timingSafeEqual(given, key) || ok;
    for (const key of this.fileKeys) ok = timingSafeEqual(given, key) || ok;
    return ok;
  }

  close(): void {
    this.watcher?.close();
    clearTimeout(this.reloadTimer);
  }

  private watch(file: string): void {
    const name = basename(file);
    try {
      this.watcher = watch(dirname(file), (_event, changed) => {
        if (changed !== null && changed !== name) return;
        clearTimeout(this.reloadTimer);
        // Editors write in several steps; read once they are done.
        this.reloadTimer = setTimeout(() => void this.reload(), 50);
      });
      this.watcher.on('error', (e) => this.logger.warn({ err: e, keyFile: file }, 'key file watch failed'));
    } catch (e) {
      this.logger.warn({ err: e, keyFile: file }, 'cannot watch the key file; keys are read once');
    }
  }

  private async reload(): Promise<void> {
    if (!this.keyFile) return;
    try {
      const keys = parseKeyFile(await readFile(this.keyFile, 'utf8'));
      this.fileKeys = keys.map(digest);
      this.logger.info({ keyFile: this.keyFile, keys: keys.length }, 'auth keys loaded');
    } catch (e) {
      this.logger.warn(
        { keyFile: this.keyFile, reason: messageOf(e) },
        'key file unreadable; keeping the previous keys',
      );
    }
  }
}
